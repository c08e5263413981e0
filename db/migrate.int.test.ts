import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../test/support/database";
import { migrateDatabase, migrationsFolder } from "./migrate";
import { tenantOwnedTableNames } from "./schema";

let database: TestDatabase;
let admin: pg.Client;

const rows = async <T>(text: string, values: unknown[] = []) => (await admin.query(text, values)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase(); // migrated once here
  admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await database?.close();
});

describe("migrations", () => {
  it("apply a second time without error or change", async () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta/_journal.json"), "utf8")) as { entries: unknown[] };
    await migrateDatabase(database.adminUrl);
    await migrateDatabase(database.adminUrl);
    const [applied] = await rows<{ n: number }>("select count(*)::int as n from drizzle.__drizzle_migrations");
    expect(applied!.n).toBe(journal.entries.length);
  });

  it("force row-level security with a policy on every table holding tenant_id, and on tenants and users", async () => {
    const withTenantColumn = await rows<{ table_name: string }>(
      "select table_name from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id' order by 1",
    );
    expect(withTenantColumn.map((r) => r.table_name)).toEqual([...tenantOwnedTableNames].sort());
    const unprotected = await rows<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r'
         and (not c.relrowsecurity or not c.relforcerowsecurity
              or not exists (select 1 from pg_policy p where p.polrelid = c.oid))`,
    );
    expect(unprotected).toEqual([]);
  });

  it("leave agent_app owning nothing, with no write access to users", async () => {
    const owned = await rows("select tablename from pg_tables where tableowner = 'agent_app'");
    expect(owned).toEqual([]);
    const ownedAny = await rows("select relname from pg_class where relowner = (select oid from pg_roles where rolname = 'agent_app')");
    expect(ownedAny).toEqual([]);
    const [role] = await rows<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(
      "select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = 'agent_app'",
    );
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: true });
    const [grants] = await rows<Record<string, boolean>>(
      `select has_table_privilege('agent_app', 'users', 'select') as sel,
              has_table_privilege('agent_app', 'users', 'insert') as ins,
              has_table_privilege('agent_app', 'agents', 'delete') as del,
              has_schema_privilege('agent_app', 'public', 'create') as create_in_public`,
    );
    expect(grants).toEqual({ sel: true, ins: false, del: true, create_in_public: false });
  });
});
