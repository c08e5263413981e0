import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, unwrap } from "../api/client";
import { useSession, type SignInConfig } from "../auth";
import { rememberedOrganization, returned, signInWithAuth0, type Auth0Config } from "../auth0";
import { useI18n } from "../i18n";
import { ErrorNotice, Field, Form, Loading } from "../ui";

/**
 * Link tokens: a sign-in link is `/console/#/sign-in?token=sl_…`, an invitation link
 * `/console/#/accept?token=inv_…`. The token is taken out of the address when the console loads,
 * before any routing (which would drop it) and before anything could log or share the URL, and
 * kept in memory until its page redeems it, once.
 */
function takeLinkToken(route: string): () => string | null {
  let token: string | null = (() => {
    const match = new RegExp(`^#/${route}\\?(.*)$`).exec(window.location.hash);
    if (!match) return null;
    history.replaceState(null, "", `${location.pathname}#/${route}`);
    return new URLSearchParams(match[1]).get("token");
  })();
  return () => {
    const taken = token;
    token = null;
    return taken;
  };
}
const signInLinkToken = takeLinkToken("sign-in");
const invitationLinkToken = takeLinkToken("accept");

/** Runs `action` once on mount, even under StrictMode's double effects (a link or code works only once). */
function useOnce(action: () => void) {
  const done = useRef(false);
  useEffect(() => {
    if (done.current) return;
    done.current = true;
    action();
  }, [action]);
}

export function SignIn() {
  const { config } = useSession();
  if (!config) return <Loading />;
  if (config.method === "auth0" && config.auth0) return <Auth0SignIn config={config} auth0={config.auth0} />;
  if (config.method === "local") return <LinkSignIn />;
  return <NoConsoleSignIn />;
}

function LinkSignIn() {
  const { t } = useI18n();
  const { redeem, session } = useSession();
  const [, navigate] = useLocation();
  const [token] = useState(signInLinkToken);
  const signIn = useMutation({ mutationFn: redeem, onSuccess: () => navigate("/agents", { replace: true }) });
  useOnce(() => {
    if (token) signIn.mutate(token);
  });

  return (
    <main id="main" className="centered">
      <h1>{t("signIn.title")}</h1>
      {signIn.isPending ? <p aria-live="polite">{t("signIn.checking")}</p> : null}
      <ErrorNotice error={signIn.error} />
      {session && !signIn.isPending ? (
        <p>
          <Link href="/agents">{t("signIn.continue")}</Link>
        </p>
      ) : null}
      {!token && !session ? <p>{t("signIn.howTo")}</p> : null}
      <p>
        {t("signIn.noAccount")} <Link href="/sign-up">{t("signUp.title")}</Link>
      </p>
    </main>
  );
}

/**
 * Universal Login: a button that goes to Auth0 (to the organisation signed in to last, if any),
 * and the page Auth0 sends the browser back to, which finishes the sign-in. An invitation link
 * goes on to Auth0 at once with the invitation and its organisation.
 */
function Auth0SignIn({ config, auth0 }: { config: SignInConfig; auth0: Auth0Config }) {
  const { t } = useI18n();
  const { completeAuth0, session } = useSession();
  const [, navigate] = useLocation();
  const [arrival] = useState(() => returned);
  const organization = rememberedOrganization.get();
  const go = useMutation({ mutationFn: (options: Parameters<typeof signInWithAuth0>[1]) => signInWithAuth0(auth0, options) });
  const complete = useMutation({
    mutationFn: completeAuth0,
    onSuccess: (result) => navigate(result.member ? (result.returnTo ?? "/agents") : "/sign-up", { replace: true }),
  });
  useOnce(() => {
    if (arrival?.kind === "callback") complete.mutate(arrival.url);
    else if (arrival?.kind === "invitation")
      go.mutate({ invitation: arrival.invitation, organization: arrival.organization, returnTo: "/agents" });
  });

  const busy = go.isPending || complete.isPending || (go.isSuccess && !go.error);
  return (
    <main id="main" className="centered">
      <h1>{t("signIn.title")}</h1>
      {busy ? <p aria-live="polite">{t("signIn.redirecting")}</p> : null}
      <ErrorNotice error={complete.error ?? go.error} />
      {session && !busy ? (
        <p>
          <Link href="/agents">{t("signIn.continue")}</Link>
        </p>
      ) : null}
      {!busy && !session ? (
        <>
          <p>
            <button onClick={() => go.mutate(organization ? { organization } : {})}>{t("signIn.withAuth0")}</button>
          </p>
          {organization ? (
            <p>
              <button
                className="link"
                onClick={() => {
                  rememberedOrganization.forget();
                  go.mutate({});
                }}
              >
                {t("signIn.otherOrganization")}
              </button>
            </p>
          ) : null}
          {config.signUp ? (
            <p>
              {t("signIn.noAccount")} <Link href="/sign-up">{t("signUp.title")}</Link>
            </p>
          ) : null}
        </>
      ) : null}
    </main>
  );
}

function NoConsoleSignIn() {
  const { t } = useI18n();
  return (
    <main id="main" className="centered">
      <h1>{t("signIn.title")}</h1>
      <p>{t("signIn.unavailable")}</p>
    </main>
  );
}

export function SignUp() {
  const { config } = useSession();
  if (!config) return <Loading />;
  if (config.method === "auth0" && config.auth0 && config.signUp) return <Auth0SignUp auth0={config.auth0} />;
  if (config.method === "local") return <LocalSignUp />;
  return <NoConsoleSignIn />;
}

/** Self-service sign-up without Auth0: tenant, admin and a session in one step. */
function LocalSignUp() {
  const { t } = useI18n();
  const { redeem } = useSession();
  const [, navigate] = useLocation();
  const [form, setForm] = useState({ tenantName: "", email: "", name: "" });
  const signUp = useMutation({
    mutationFn: async () => {
      const created = await unwrap(api.POST("/v1/signup", { body: { ...form, ...(form.name ? {} : { name: undefined }) } }));
      if (!created.signInToken) throw new Error("The sign-up answer carried no sign-in link.");
      await redeem(created.signInToken);
    },
    onSuccess: () => navigate("/welcome", { replace: true }),
  });
  const set = (key: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [key]: e.target.value });
  return (
    <main id="main" className="centered">
      <h1>{t("signUp.title")}</h1>
      <p>{t("signUp.lead")}</p>
      <Form onSubmit={() => signUp.mutate()}>
        <Field label={t("signUp.tenantName")} path="tenantName" error={signUp.error}>
          <input value={form.tenantName} onChange={set("tenantName")} required autoComplete="organization" />
        </Field>
        <Field label={t("signUp.email")} path="email" error={signUp.error}>
          <input type="email" value={form.email} onChange={set("email")} required autoComplete="email" />
        </Field>
        <Field label={t("signUp.name")} path="name" error={signUp.error}>
          <input value={form.name} onChange={set("name")} autoComplete="name" />
        </Field>
        <ErrorNotice error={signUp.error} />
        <button type="submit" disabled={signUp.isPending}>
          {t("signUp.submit")}
        </button>
      </Form>
      <p>
        <Link href="/sign-in">{t("signIn.title")}</Link>
      </p>
    </main>
  );
}

/**
 * Sign-up with Auth0: first an Auth0 account (Universal Login's sign-up screen), then the
 * workspace's name. The platform creates the organisation and the tenant; the console then signs in
 * again through that organisation, which makes the token name the tenant.
 */
function Auth0SignUp({ auth0 }: { auth0: Auth0Config }) {
  const { t } = useI18n();
  const { newcomer } = useSession();
  const [tenantName, setTenantName] = useState("");
  const go = useMutation({ mutationFn: (options: Parameters<typeof signInWithAuth0>[1]) => signInWithAuth0(auth0, options) });
  const signUp = useMutation({
    mutationFn: async () => {
      const created = await unwrap(
        api.POST("/v1/signup", { body: { tenantName }, headers: { authorization: `Bearer ${newcomer!.accessToken}` } }),
      );
      rememberedOrganization.set(created.organizationId!);
      await signInWithAuth0(auth0, { organization: created.organizationId!, returnTo: "/welcome" });
    },
  });
  return (
    <main id="main" className="centered">
      <h1>{t("signUp.title")}</h1>
      {!newcomer ? (
        <>
          <p>{t("signUp.auth0First")}</p>
          <ErrorNotice error={go.error} />
          <button onClick={() => go.mutate({ signUp: true, returnTo: "/sign-up" })} disabled={go.isPending}>
            {t("signUp.withAuth0")}
          </button>
        </>
      ) : (
        <>
          <p>{t("signUp.lead")}</p>
          <Form onSubmit={() => signUp.mutate()}>
            <Field label={t("signUp.tenantName")} path="tenantName" error={signUp.error}>
              <input value={tenantName} onChange={(e) => setTenantName(e.target.value)} required autoComplete="organization" />
            </Field>
            <ErrorNotice error={signUp.error} />
            <button type="submit" disabled={signUp.isPending || signUp.isSuccess}>
              {t("signUp.submit")}
            </button>
          </Form>
        </>
      )}
      <p>
        <Link href="/sign-in">{t("signIn.title")}</Link>
      </p>
    </main>
  );
}

/** An invitation link without Auth0: the invitee gives their name and is signed in as the new member. */
export function AcceptInvitation() {
  const { t } = useI18n();
  const { acceptInvitation } = useSession();
  const [, navigate] = useLocation();
  const [token] = useState(invitationLinkToken);
  const [name, setName] = useState("");
  const accept = useMutation({
    mutationFn: () => acceptInvitation({ token: token ?? "", name }),
    onSuccess: () => navigate("/agents", { replace: true }),
  });
  return (
    <main id="main" className="centered">
      <h1>{t("accept.title")}</h1>
      {token ? (
        <Form onSubmit={() => accept.mutate()}>
          <p>{t("accept.lead")}</p>
          <Field label={t("signUp.name")} path="name" error={accept.error}>
            <input value={name} onChange={(e) => setName(e.target.value)} required autoComplete="name" />
          </Field>
          <ErrorNotice error={accept.error} />
          <button type="submit" disabled={accept.isPending}>
            {t("accept.submit")}
          </button>
        </Form>
      ) : (
        <p>{t("accept.noLink")}</p>
      )}
    </main>
  );
}
