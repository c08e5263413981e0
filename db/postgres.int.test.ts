import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../test/support/database";
import { createPoolDb } from "./client";
import { buildTenantGraph, insertTenantGraph } from "./fixtures";
import { migrationsFolder } from "./migrate";
import { tenantOwnedTableNames } from "./schema";

/**
 * Database behaviour PGlite cannot show (one connection user, one backend), so always on a real
 * PostgreSQL server: DATABASE_URL, else the machine's postgres://postgres@127.0.0.1:5432/postgres.
 * Not part of the db-pglite project. Checked at load so that, with the server down, the file fails
 * with a hint to start it (a throwing beforeAll would only report the tests as skipped).
 */
await requirePostgres();

let database: TestDatabase;
let admin: pg.Client;

const rows = async <T>(text: string, values: unknown[] = []) => (await admin.query(text, values)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase({ engine: "postgres" });
  admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await database?.close();
});

describe("migrations on PostgreSQL", () => {
  it("migrate several databases on one cluster in parallel (the shared role is created race-safely)", async () => {
    const many = await Promise.allSettled([1, 2, 3].map(() => createTestDatabase({ engine: "postgres" })));
    await Promise.all(many.map((d) => (d.status === "fulfilled" ? d.value.close() : undefined)));
    for (const d of many) if (d.status === "rejected") throw d.reason;
  });

  it("create the role race-safely when concurrent transactions both find it missing", async () => {
    const migration = readFileSync(join(migrationsFolder, "0001_rls_and_app_role.sql"), "utf8");
    const doBlock = migration.split("--> statement-breakpoint")[0]!;
    const roleName = `race_${Date.now().toString(36)}`;
    const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: database.adminUrl }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      await Promise.all(
        clients.map(async (c) => {
          await c.query("begin");
          await c.query(doBlock.replaceAll("agent_app", roleName));
          await c.query("select pg_sleep(0.1)");
          await c.query("commit");
        }),
      );
      expect(await rows("select 1 from pg_roles where rolname = $1", [roleName])).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await admin.query(`drop role if exists ${roleName}`);
    }
  });
});

describe("row-level security on PostgreSQL, with no tenant set", () => {
  it("sees nothing through the plain app connection (connecting as agent_app)", async () => {
    const owner = createPoolDb(database.adminUrl, { max: 1 });
    const app = createPoolDb(database.appUrl, { max: 1 });
    try {
      await insertTenantGraph(owner.db, buildTenantGraph());
      for (const table of [...tenantOwnedTableNames, "tenants", "users"]) {
        const seeded = await owner.db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`);
        expect(seeded.rows[0]!.n, `${table} as owner`).toBeGreaterThan(0);
      }
      const who = await app.db.execute<{ u: string }>(sql`select current_user as u`);
      expect(who.rows[0]!.u).toBe("agent_app");
      for (const table of [...tenantOwnedTableNames, "tenants", "users"]) {
        const seen = await app.db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`);
        expect(seen.rows[0]!.n, table).toBe(0);
      }
    } finally {
      await app.close();
      await owner.close();
    }
  });
});
