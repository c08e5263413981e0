import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTwoTenantDatabase, type TwoTenantDatabase } from "../test/support/database";
import { createPoolDb } from "./client";
import { agents } from "./schema";
import { withTenant } from "./tenant";

describe("statements prepared by name (createPoolDb preparedStatements)", () => {
  let two: TwoTenantDatabase;
  let named: ReturnType<typeof createPoolDb>;

  beforeAll(async () => {
    two = await createTwoTenantDatabase();
    // One connection, so the statements checked below were prepared on the session that lists them.
    named = createPoolDb(two.database.appUrl, { max: 1, preparedStatements: true });
  });
  afterAll(async () => {
    await named?.close();
    await two?.close();
  });

  const preparedOnSession = async (db: ReturnType<typeof createPoolDb>["db"]) =>
    (await db.execute<{ name: string; statement: string }>(sql`select name, statement from pg_prepared_statements order by name`)).rows;

  it("prepares a repeated statement once and answers each run with its own parameters", async () => {
    const sums = [];
    for (const n of [1, 2, 3]) sums.push((await named.db.execute<{ sum: number }>(sql`select ${n}::int + 1 as sum`)).rows[0]!.sum);
    expect(sums).toEqual([2, 3, 4]);
    const prepared = await preparedOnSession(named.db);
    expect(prepared.filter((row) => row.statement === "select $1::int + 1 as sum")).toHaveLength(1);
  });

  it("keeps row-level security per transaction: one named statement, each tenant sees only its own rows", async () => {
    const agentOf = (tenantId: string) =>
      withTenant(named.db, tenantId, (tx) =>
        tx.select({ id: agents.id, tenantId: agents.tenantId }).from(agents).where(eq(agents.id, two.a.rows.agents.id!)),
      );
    // Enough runs for PostgreSQL to switch to a generic plan (after five custom ones).
    for (let run = 0; run < 8; run++) {
      expect(await agentOf(two.a.tenant.id)).toEqual([{ id: two.a.rows.agents.id!, tenantId: two.a.tenant.id }]);
      expect(await agentOf(two.b.tenant.id)).toEqual([]);
    }
    const prepared = await preparedOnSession(named.db);
    expect(prepared.some((row) => row.statement.startsWith('select "id", "tenant_id" from "agents"'))).toBe(true);
  });

  it("is off unless asked for", async () => {
    for (let run = 0; run < 3; run++) await two.app.db.execute(sql`select ${run}::int as n`);
    // (On PGlite every connection shares one session, so the list also holds the other pool's.)
    expect((await preparedOnSession(two.app.db)).filter((row) => row.statement === "select $1::int as n")).toEqual([]);
  });
});
