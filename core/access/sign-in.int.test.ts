import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPoolDb } from "../../db/client";
import { withTenant } from "../../db/tenant";
import { createTestDatabase, type TestDatabase } from "../../test/support/database";
import { principalFromSession } from "./principal";
import { acceptInvitation } from "./invitations";
import { createSignInLink, redeemSignInLink, signUp } from "./sign-in";

/** Sign-up and sign-in links against the database functions of migration 0019, as the app role. */
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

describe("sign-up and sign-in links", () => {
  it("sign up a tenant with its roles and admin, redeem a sign-in link once, and name members only", async () => {
    const handle = createPoolDb(database.appUrl, { max: 2 });
    try {
      const created = await signUp(handle.db, { tenantName: "Función Test", email: "Owner@Func.example", subject: "local|func-owner" });
      expect(created.slug).toBe("funcion-test");
      const { rows: roleRows } = await admin.query<{ name: string }>("select name from roles where tenant_id = $1 order by 1", [
        created.tenantId,
      ]);
      expect(roleRows.map((r) => r.name)).toEqual(["admin", "editor", "viewer"]);
      expect((await principalFromSession(handle.db, created))?.role.name).toBe("admin");
      expect(
        await principalFromSession(handle.db, { tenantId: created.tenantId, userId: "00000000-0000-4000-8000-000000000000" }),
      ).toBeUndefined();

      const link = await withTenant(handle.db, created.tenantId, (tx) => createSignInLink(tx, created));
      const { rows: stored } = await admin.query<{ token_hash: string }>("select token_hash from sign_in_links where tenant_id = $1", [
        created.tenantId,
      ]);
      expect(stored[0]!.token_hash).not.toContain(link.token.slice(3)); // only the hash is stored
      const both = await Promise.all([redeemSignInLink(handle.db, link.token), redeemSignInLink(handle.db, link.token)]);
      expect(both.filter(Boolean)).toEqual([{ tenantId: created.tenantId, userId: created.userId }]);
      expect(await redeemSignInLink(handle.db, link.token)).toBeUndefined();
    } finally {
      await handle.close();
    }
  });

  it("accept an invitation link once, as a new member with the invitation's email and role; expired links do nothing", async () => {
    const handle = createPoolDb(database.appUrl, { max: 2 });
    try {
      const created = await signUp(handle.db, { tenantName: "Invite Test", email: "owner@invite.example", subject: "local|invite-owner" });
      const { rows } = await admin.query<{ id: string }>("select id from roles where tenant_id = $1 and name = 'viewer'", [
        created.tenantId,
      ]);
      const invite = async (email: string, token: string, expiresAt: string) =>
        admin.query(
          "insert into invitations (tenant_id, email, role_id, expires_at, accept_token_hash) values ($1, $2, $3, $4, encode(sha256(convert_to($5, 'utf8')), 'hex'))",
          [created.tenantId, email, rows[0]!.id, expiresAt, token],
        );
      await invite("vera@invite.example", "inv_valid-token", "2999-01-01");
      await invite("old@invite.example", "inv_expired-token", "2000-01-01");

      const both = await Promise.all([
        acceptInvitation(handle.db, { token: "inv_valid-token", name: "Vera" }),
        acceptInvitation(handle.db, { token: "inv_valid-token", name: "Vera" }),
      ]);
      const accepted = both.filter(Boolean);
      expect(accepted).toHaveLength(1);
      expect((await principalFromSession(handle.db, accepted[0]!))?.role.name).toBe("viewer");
      const { rows: users } = await admin.query<{ email: string; name: string }>("select email, name from users where id = $1", [
        accepted[0]!.userId,
      ]);
      expect(users[0]).toEqual({ email: "vera@invite.example", name: "Vera" });
      const { rows: invitations } = await admin.query<{ accepted: boolean; hash: string | null }>(
        "select accepted_at is not null as accepted, accept_token_hash as hash from invitations where email = 'vera@invite.example'",
      );
      expect(invitations[0]).toEqual({ accepted: true, hash: null });

      expect(await acceptInvitation(handle.db, { token: "inv_expired-token", name: "Late" })).toBeUndefined();
      expect(await acceptInvitation(handle.db, { token: "sl_not-an-invitation", name: "X" })).toBeUndefined();
    } finally {
      await handle.close();
    }
  });
});
