import { afterAll, beforeAll } from "vitest";
import type { AccessContext } from "../../core/access/context";
import { ALL_PERMISSIONS, type Permission } from "../../core/access/permissions";
import { createPoolDb, type Database } from "../../db/client";
import type { TenantGraph } from "../../db/fixtures";
import { withTenant } from "../../db/tenant";
import { createTestDatabase, type TestDatabase } from "./database";

/**
 * A test file's database: created before its tests, closed after them; `admin` bypasses row-level
 * security (fixtures, checks), `app` is the application role the verbs and jobs run as.
 */
export function useTestDatabase(): { readonly admin: Database; readonly app: Database } {
  let database: TestDatabase;
  let admin: ReturnType<typeof createPoolDb>;
  let app: ReturnType<typeof createPoolDb>;
  beforeAll(async () => {
    database = await createTestDatabase();
    admin = createPoolDb(database.adminUrl, { max: 1 });
    app = createPoolDb(database.appUrl, { max: 2 });
  });
  afterAll(async () => {
    await app?.close();
    await admin?.close();
    await database?.close();
  });
  return {
    get admin() {
      return admin.db;
    },
    get app() {
      return app.db;
    },
  };
}

/** Runs a domain verb as the graph's user, an admin holding `permissions` (default: all), in the tenant's transaction. */
export function runAsMember<I, O>(
  db: Database,
  graph: TenantGraph,
  verb: (args: { ctx: AccessContext; input: I }) => Promise<O>,
  input: I,
  permissions: readonly Permission[] = ALL_PERMISSIONS,
): Promise<O> {
  return withTenant(db, graph.tenant.id, (tx) =>
    verb({
      ctx: {
        tenantId: graph.tenant.id,
        actor: { type: "user", id: graph.user.id },
        role: { id: graph.user.id, name: "admin" },
        permissions: new Set(permissions),
        allowedOrigins: [],
        tx,
      },
      input,
    }),
  );
}
