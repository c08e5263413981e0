import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { api, configureAuth, unwrap, type Schemas } from "./api/client";
import { completeAuth0SignIn, rememberedOrganization, signOutOfAuth0, type Auth0SignIn } from "./auth0";

export type Permission = Schemas["Me"]["permissions"][number];
export type SignInConfig = Schemas["SignInConfig"];

/** A signed-in member: the bearer token the API takes, until when, and how it was obtained. */
export interface Session {
  accessToken: string;
  expiresAt: string;
  userId: string;
  /** `link`: a console session from a sign-in or invitation link; `auth0`: an Auth0 access token. */
  via: "link" | "auth0";
}

/**
 * The console's session.
 * - Without Auth0 (the local stack) a one-time link is redeemed at `POST /v1/session` (or an
 *   invitation link at `POST /v1/invitation-acceptances`) for a short-lived token, kept in this
 *   tab only (sessionStorage: a reload keeps it, closing the tab ends it).
 * - With Auth0 the access token stays in memory only, as `@auth0/auth0-spa-js` keeps it; a reload
 *   signs in again through Universal Login (immediate while the Auth0 session lasts). Someone
 *   Auth0 knows but no tenant does yet is a `newcomer`, whose token only signs up.
 * Never a cookie, never localStorage.
 */
interface SessionState {
  session: Session | null;
  config: SignInConfig | undefined;
  newcomer: Auth0SignIn | null;
  redeem(token: string): Promise<void>;
  acceptInvitation(input: { token: string; name: string }): Promise<void>;
  /** Finishes an Auth0 redirect; says where to go next. */
  completeAuth0(url: string): Promise<{ member: boolean; returnTo?: string }>;
  signOut(): void;
}

const STORAGE_KEY = "console.session";
const SessionContext = createContext<SessionState | null>(null);

function stored(): Session | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Session | null;
    return session?.via === "link" && new Date(session.expiresAt).getTime() > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(stored);
  const [newcomer, setNewcomer] = useState<Auth0SignIn | null>(null);
  const queryClient = useQueryClient();
  const config = useQuery({
    queryKey: ["sign-in-config"],
    queryFn: () => unwrap(api.GET("/v1/sign-in-config")),
    staleTime: Infinity,
  }).data;
  const adopt = useCallback((next: Session | null) => {
    if (next?.via === "link") sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(STORAGE_KEY);
    setSession(next);
  }, []);
  const fromLink = useCallback(
    (answer: Schemas["ConsoleSession"]) =>
      adopt({ accessToken: answer.accessToken, expiresAt: answer.expiresAt, userId: answer.userId, via: "link" }),
    [adopt],
  );
  const dropSession = useCallback(() => {
    adopt(null);
    setNewcomer(null);
    queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "sign-in-config" });
  }, [adopt, queryClient]);

  // During render, not in an effect: children's queries start in their effects, which run first.
  configureAuth({ token: async () => session?.accessToken, unauthorized: dropSession });

  const value = useMemo<SessionState>(
    () => ({
      session,
      config,
      newcomer,
      async redeem(token) {
        fromLink(await unwrap(api.POST("/v1/session", { body: { token } })));
      },
      async acceptInvitation(input) {
        fromLink(await unwrap(api.POST("/v1/invitation-acceptances", { body: input })));
      },
      async completeAuth0(url) {
        if (!config?.auth0) throw new Error("Auth0 is not configured here");
        const signedIn = await completeAuth0SignIn(config.auth0, url);
        if (!signedIn.organization) {
          setNewcomer(signedIn);
          return { member: false };
        }
        rememberedOrganization.set(signedIn.organization);
        adopt({ accessToken: signedIn.accessToken, expiresAt: signedIn.expiresAt, userId: signedIn.subject, via: "auth0" });
        return { member: true, ...(signedIn.returnTo ? { returnTo: signedIn.returnTo } : {}) };
      },
      signOut() {
        const wasAuth0 = session?.via === "auth0";
        dropSession();
        if (wasAuth0 && config?.auth0) void signOutOfAuth0(config.auth0);
      },
    }),
    [session, config, newcomer, adopt, fromLink, dropSession],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const context = useContext(SessionContext);
  if (!context) throw new Error("useSession outside SessionProvider");
  return context;
}

/** Who is signed in, with their role and permissions (`GET /v1/me`). */
export function useMe() {
  const { session } = useSession();
  const query = useQuery({
    queryKey: ["me", session?.userId],
    queryFn: () => unwrap(api.GET("/v1/me")),
    enabled: Boolean(session),
    staleTime: 60_000,
  });
  const permissions = useMemo(() => new Set<Permission>(query.data?.permissions ?? []), [query.data]);
  return { ...query, can: (permission: Permission) => permissions.has(permission) };
}
