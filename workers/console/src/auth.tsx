import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { api, configureAuth, unwrap, type Schemas } from "./api/client";

type Session = Schemas["ConsoleSession"];
export type Permission = Schemas["Me"]["permissions"][number];

/**
 * The console's session. Without Auth0 (the local stack) a one-time sign-in link is redeemed at
 * `POST /v1/session` for a short-lived token. The token lives in this tab only (sessionStorage, so a
 * reload keeps it and closing the tab ends it); it is never put in a cookie or localStorage.
 */
interface SessionState {
  session: Session | null;
  redeem(token: string): Promise<void>;
  adopt(session: Session): void;
  signOut(): void;
}

const STORAGE_KEY = "console.session";
const SessionContext = createContext<SessionState | null>(null);

function stored(): Session | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Session | null;
    return session && new Date(session.expiresAt).getTime() > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(stored);
  const queryClient = useQueryClient();
  const adopt = useCallback((next: Session | null) => {
    if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(STORAGE_KEY);
    setSession(next);
  }, []);
  const signOut = useCallback(() => {
    adopt(null);
    queryClient.clear();
  }, [adopt, queryClient]);

  // During render, not in an effect: children's queries start in their effects, which run first.
  configureAuth({ token: async () => session?.accessToken, unauthorized: signOut });

  const value = useMemo<SessionState>(
    () => ({
      session,
      adopt,
      signOut,
      async redeem(token) {
        adopt(await unwrap(api.POST("/v1/session", { body: { token } })));
      },
    }),
    [session, adopt, signOut],
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
