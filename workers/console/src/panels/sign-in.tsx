import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, unwrap } from "../api/client";
import { useSession } from "../auth";
import { useI18n } from "../i18n";
import { ErrorNotice, Field, Form } from "../ui";

/**
 * A sign-in link is `/console/#/sign-in?token=sl_…`. The token is taken out of the address when the
 * console loads, before any routing (which would drop it) and before anything could log or share
 * the URL, and kept in memory until the sign-in page redeems it, once.
 */
let linkToken: string | null = (() => {
  const match = /^#\/sign-in\?(.*)$/.exec(window.location.hash);
  if (!match) return null;
  history.replaceState(null, "", `${location.pathname}#/sign-in`);
  return new URLSearchParams(match[1]).get("token");
})();

export function SignIn() {
  const { t } = useI18n();
  const { redeem, session } = useSession();
  const [, navigate] = useLocation();
  const [token] = useState(() => {
    const taken = linkToken;
    linkToken = null;
    return taken;
  });
  const redeemed = useRef(false);
  const signIn = useMutation({ mutationFn: redeem, onSuccess: () => navigate("/agents", { replace: true }) });

  useEffect(() => {
    if (!token || redeemed.current) return;
    redeemed.current = true; // a link works only once: never send it twice (StrictMode runs effects twice)
    signIn.mutate(token);
  }, [token, signIn]);

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

/** Self-service sign-up (deployments without Auth0): tenant, admin and a session in one step. */
export function SignUp() {
  const { t } = useI18n();
  const { redeem } = useSession();
  const [, navigate] = useLocation();
  const [form, setForm] = useState({ tenantName: "", email: "", name: "" });
  const signUp = useMutation({
    mutationFn: async () => {
      const created = await unwrap(api.POST("/v1/signup", { body: { ...form, ...(form.name ? {} : { name: undefined }) } }));
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
