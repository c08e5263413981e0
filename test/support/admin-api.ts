import { createPoolDb, type DbHandle } from "../../db/client";
import { startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { startFakeAuth0, type FakeAuth0 } from "../fakes/auth0";
import { createTestDatabase, type TestDatabase } from "./database";
import type pg from "pg";

export interface AdminApiHarness {
  database: TestDatabase;
  auth0: FakeAuth0;
  stack: LocalStack;
  admin: DbHandle<pg.Pool>;
  /** `fetch` against the edge, with `Authorization: Bearer <token>` when given and JSON bodies. */
  call(path: string, init?: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The edge under workerd (one start per test file) against a fresh database, with Auth0 pointed at a
 * loopback JWKS server. No Chroma and no pool: the admin API needs neither.
 */
export async function startAdminApiHarness(
  edgeVars: Record<string, string> | ((auth0: FakeAuth0) => Record<string, string>) = {},
  options: { edgeDatabase?: "neon" | "hyperdrive" } = {},
): Promise<AdminApiHarness> {
  const database = await createTestDatabase();
  const auth0 = await startFakeAuth0();
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      withPool: false,
      edgeDatabase: options.edgeDatabase ?? "neon",
      output: process.env.ADMIN_API_LOG ? { file: process.env.ADMIN_API_LOG } : "quiet",
      edgeVars: {
        AUTH0_ISSUER: auth0.issuer,
        AUTH0_AUDIENCE: auth0.audience,
        AUTH0_JWKS_URL: auth0.jwksUrl,
        LOG_LEVEL: "warn",
        ...(typeof edgeVars === "function" ? edgeVars(auth0) : edgeVars),
      },
    });
  } catch (error) {
    await auth0.close();
    await database.close();
    throw error;
  }
  const edge = stack.edge.url;
  const admin = createPoolDb(database.adminUrl, { max: 2 });
  const started = stack;
  return {
    database,
    auth0,
    stack: started,
    admin,
    call(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      if (init.body !== undefined) headers["content-type"] ??= "application/json";
      return fetch(`${edge}${path}`, {
        method: init.method ?? "GET",
        headers,
        ...(init.body !== undefined ? { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) } : {}),
      });
    },
    async stop() {
      await admin.close();
      await started.stop();
      await auth0.close();
      await database.close();
    },
  };
}
