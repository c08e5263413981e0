import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../test/support/database";

/** The SECURITY DEFINER lookups the edge uses before it knows the tenant, and the audit log's append-only policies. */
let database: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await database?.close();
});

describe("auth lookup functions", () => {
  it("are SECURITY DEFINER, pin search_path, are not owned by agent_app, and only agent_app may run them", async () => {
    const { rows } = await admin.query<{
      proname: string;
      secdef: boolean;
      config: string[] | null;
      owner: string;
      app: boolean;
      public: boolean;
    }>(
      `select p.proname, p.prosecdef as secdef, p.proconfig as config, pg_get_userbyid(p.proowner) as owner,
              has_function_privilege('agent_app', p.oid, 'execute') as app,
              coalesce(bool_or(a.grantee = 0), false) as public
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       left join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a on true
       where n.nspname = 'public' and p.proname like 'auth\\_%'
       group by p.oid, p.proname order by 1`,
    );
    expect(rows.map((r) => r.proname)).toEqual([
      "auth_accept_invitation",
      "auth_api_key",
      "auth_member",
      "auth_origin_allowed",
      "auth_redeem_sign_in_link",
      "auth_sign_up",
      "auth_user",
    ]);
    for (const row of rows) {
      expect(row.secdef, row.proname).toBe(true);
      expect(
        row.config?.some((c) => c.startsWith("search_path=")),
        row.proname,
      ).toBe(true);
      expect(row.owner, row.proname).not.toBe("agent_app");
      expect(row.app, row.proname).toBe(true);
      expect(row.public, row.proname).toBe(false);
    }
  });

  it("keep the audit log append-only for the application", async () => {
    const { rows } = await admin.query<{ polname: string; polcmd: string }>(
      "select polname, polcmd from pg_policy where polrelid = 'audit_log'::regclass and polroles <> '{0}' is not true order by 1",
    );
    const appPolicies = rows.filter((r) => r.polname.startsWith("tenant_"));
    expect(appPolicies.map((r) => r.polcmd).sort()).toEqual(["a", "r"]); // INSERT and SELECT only
  });
});
