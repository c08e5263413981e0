import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTwoTenantDatabase, type TwoTenantDatabase } from "../test/support/database";
import { createPoolDb, type Database } from "./client";
import { buildTenantGraph, tenantOwnedTables, type TenantGraph } from "./fixtures";
import { messages, tenantOwnedTableNames, tenants, users } from "./schema";
import { InvalidTenantIdError, withTenant } from "./tenant";

let twoTenants: TwoTenantDatabase;
let admin: TwoTenantDatabase["admin"];
let app: TwoTenantDatabase["app"];
let a: TenantGraph;
let b: TenantGraph;

/** The SQLSTATE behind a driver or drizzle error. */
function sqlState(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  while (current) {
    if (typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the statement to fail");
}

const count = async (db: Database, table: string, where = sql`true`) => {
  const result = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)} where ${where}`);
  return result.rows[0]!.n;
};

beforeAll(async () => {
  ({ admin, app, a, b } = twoTenants = await createTwoTenantDatabase());
});

afterAll(() => twoTenants?.close());

describe("withTenant", () => {
  it("sees exactly its own row in every tenant-owned table", async () => {
    await withTenant(app.db, a.tenant.id, async (tx) => {
      for (const table of tenantOwnedTableNames) {
        expect(await count(tx, table), table).toBe(1);
        expect(await count(tx, table, sql`tenant_id = ${b.tenant.id}`), table).toBe(0);
      }
      expect((await tx.select().from(tenants)).map((t) => t.id)).toEqual([a.tenant.id]);
      expect((await tx.select().from(users)).map((u) => u.id)).toEqual([a.user.id]);
    });
  });

  it("cannot update or delete another tenant's rows", async () => {
    await withTenant(app.db, a.tenant.id, async (tx) => {
      for (const table of tenantOwnedTableNames) {
        const updated = await tx.execute(sql`update ${sql.identifier(table)} set tenant_id = tenant_id where tenant_id = ${b.tenant.id}`);
        const deleted = await tx.execute(sql`delete from ${sql.identifier(table)} where tenant_id = ${b.tenant.id}`);
        expect([updated.rowCount, deleted.rowCount], table).toEqual([0, 0]);
      }
      const tenantsTouched = await tx.execute(sql`update tenants set name = 'x' where id = ${b.tenant.id}`);
      expect(tenantsTouched.rowCount).toBe(0);
    });
    for (const table of tenantOwnedTableNames) expect(await count(admin.db, table, sql`tenant_id = ${b.tenant.id}`), table).toBe(1);
  });

  it("cannot insert a row carrying another tenant's id, in any table", async () => {
    const intruder = buildTenantGraph(b.tenant.id);
    for (const [name, table] of Object.entries(tenantOwnedTables)) {
      const row = intruder.rows[name as keyof TenantGraph["rows"]];
      const error = await rejection(withTenant(app.db, a.tenant.id, (tx) => tx.insert(table).values(row as never)));
      expect(sqlState(error), name).toBe("42501"); // new row violates row-level security policy
    }
    const tenantError = await rejection(
      withTenant(app.db, a.tenant.id, (tx) => tx.insert(tenants).values({ name: "Other", slug: `other-${Date.now()}` })),
    );
    expect(sqlState(tenantError)).toBe("42501");
  });

  it("cannot move its own row to another tenant", async () => {
    const error = await rejection(withTenant(app.db, a.tenant.id, (tx) => tx.execute(sql`update agents set tenant_id = ${b.tenant.id}`)));
    expect(sqlState(error)).toBe("42501");
  });

  it("can write its own rows", async () => {
    const more = buildTenantGraph(a.tenant.id);
    await withTenant(app.db, a.tenant.id, async (tx) => {
      for (const [name, table] of Object.entries(tenantOwnedTables)) {
        // Both need the new user, which only the owner may insert.
        if (name === "memberships" || name === "sign_in_links") continue;
        await tx.insert(table).values(more.rows[name as keyof TenantGraph["rows"]] as never);
      }
    });
    expect(await count(admin.db, "agents", sql`tenant_id = ${a.tenant.id}`)).toBe(2);
  });

  it("rejects a tenant id that is not a uuid before touching the database", async () => {
    await expect(withTenant(app.db, "1 or 1=1", async () => 1)).rejects.toBeInstanceOf(InvalidTenantIdError);
  });

  it("rolls back the tenant setting and role with the transaction", async () => {
    const single = createPoolDb(twoTenants.database.appUrl, { max: 1 });
    try {
      await withTenant(single.db, a.tenant.id, (tx) => tx.select().from(tenants));
      const after = await single.db.transaction(async (tx) => {
        await tx.execute(sql`set local role agent_app`); // the app role even where the URL is a superuser (PGlite)
        const setting = await tx.execute<{ v: string | null }>(sql`select current_setting('app.tenant_id', true) as v`);
        return { setting: setting.rows[0]!.v, agents: await count(tx, "agents") };
      });
      expect(after.setting ?? "").toBe("");
      expect(after.agents).toBe(0);
    } finally {
      await single.close();
    }
  });
});

describe("with no tenant set", () => {
  it("sees nothing in any table as the app role", async () => {
    await app.db.transaction(async (tx) => {
      await tx.execute(sql`set local role agent_app`);
      for (const table of [...tenantOwnedTableNames, "tenants", "users"]) expect(await count(tx, table), table).toBe(0);
    });
  });
});

describe("idempotency constraints", () => {
  it("rejects a second inbound message with the same provider id on a channel", async () => {
    const original = a.rows.messages;
    const duplicate = { ...original, id: crypto.randomUUID() };
    const error = await rejection(withTenant(app.db, a.tenant.id, (tx) => tx.insert(messages).values(duplicate)));
    expect(sqlState(error)).toBe("23505");
  });

  it("allows outbound messages without a provider id and one reply per inbound message", async () => {
    const base = a.rows.messages;
    const reply = {
      ...base,
      id: crypto.randomUUID(),
      direction: "outbound" as const,
      providerMessageId: null,
      status: "pending" as const,
      replyToMessageId: base.id!,
    };
    await withTenant(app.db, a.tenant.id, (tx) => tx.insert(messages).values(reply));
    const second = { ...reply, id: crypto.randomUUID() };
    const error = await rejection(withTenant(app.db, a.tenant.id, (tx) => tx.insert(messages).values(second)));
    expect(sqlState(error)).toBe("23505");
  });
});
