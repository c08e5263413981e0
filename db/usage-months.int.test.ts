import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTwoTenantDatabase, type TwoTenantDatabase } from "../test/support/database";
import type { TenantGraph } from "./fixtures";
import { conversations, usageMonthConversations, usageMonths, usageRecords, type NewUsageRecord } from "./schema";
import { withTenant } from "./tenant";

let twoTenants: TwoTenantDatabase;
let admin: TwoTenantDatabase["admin"];
let app: TwoTenantDatabase["app"];
let a: TenantGraph;
let b: TenantGraph;

beforeAll(async () => {
  ({ admin, app, a, b } = twoTenants = await createTwoTenantDatabase());
});

afterAll(() => twoTenants?.close());

const record = (graph: TenantGraph, values: Partial<NewUsageRecord>): NewUsageRecord => ({
  tenantId: graph.tenant.id,
  model: "gpt-4o-mini",
  provider: "openai",
  inputTokens: 10,
  outputTokens: 5,
  latencyMs: 1,
  costNanoUsd: 1_000,
  ...values,
});

async function newConversation(graph: TenantGraph): Promise<string> {
  const id = randomUUID();
  await admin.db.insert(conversations).values({
    id,
    tenantId: graph.tenant.id,
    channelId: graph.rows.channels.id!,
    agentId: graph.rows.agents.id!,
    externalKey: id,
  });
  return id;
}

/** What the month's records add up to, summed the slow way. */
async function summed(tenantId: string, month: string) {
  const result = await admin.db.execute<{ cost: string; tokens: string; conversations: number }>(sql`
    select coalesce(sum(cost_nano_usd), 0)::text as cost, coalesce(sum(input_tokens + output_tokens), 0)::text as tokens,
           (count(distinct conversation_id) filter (where outcome in ('answered', 'all_failed', 'cancelled')))::int as conversations
    from usage_records where tenant_id = ${tenantId} and date_trunc('month', created_at at time zone 'UTC')::date = ${month}::date`);
  const row = result.rows[0]!;
  return { costNanoUsd: Number(row.cost), tokens: Number(row.tokens), conversations: Number(row.conversations) };
}

async function totals(tenantId: string, month: string) {
  const [row] = await admin.db
    .select({ costNanoUsd: usageMonths.costNanoUsd, tokens: usageMonths.tokens, conversations: usageMonths.conversations })
    .from(usageMonths)
    .where(and(eq(usageMonths.tenantId, tenantId), eq(usageMonths.month, month)));
  return row;
}

describe("the month's running usage totals", () => {
  it("add up to the month's usage records: every record's cost and tokens, each answered conversation once", async () => {
    const [first, second, blocked] = [await newConversation(a), await newConversation(a), await newConversation(a)];
    await admin.db.insert(usageRecords).values([
      record(a, { conversationId: first, outcome: "answered" }),
      record(a, { conversationId: first, outcome: "answered", costNanoUsd: 2_500 }),
      record(a, { conversationId: second, outcome: "cancelled", inputTokens: 7 }),
      record(a, { conversationId: blocked, outcome: "budget_blocked", inputTokens: 0, outputTokens: 0, costNanoUsd: 0 }),
      record(a, { conversationId: null, outcome: "answered" }),
      // Another month: its own row.
      record(a, { conversationId: first, outcome: "answered", createdAt: new Date("2026-01-15T12:00:00Z") }),
    ]);
    const month = new Date().toISOString().slice(0, 8) + "01";
    expect(await totals(a.tenant.id, month)).toEqual(await summed(a.tenant.id, month));
    expect((await totals(a.tenant.id, month))!.conversations).toBe(3); // the fixture's, first, second
    expect(await totals(a.tenant.id, "2026-01-01")).toEqual({ costNanoUsd: 1_000, tokens: 15, conversations: 1 });
    // The other tenant's totals are its fixture record's alone.
    expect(await totals(b.tenant.id, month)).toEqual(await summed(b.tenant.id, month));
  });

  it("grow through the app's role, and a tenant can neither read nor write another tenant's totals", async () => {
    const month = new Date().toISOString().slice(0, 8) + "01";
    const before = (await totals(a.tenant.id, month))!;
    const conversationId = await newConversation(a);
    await withTenant(app.db, a.tenant.id, (tx) => tx.insert(usageRecords).values(record(a, { conversationId })));
    expect(await totals(a.tenant.id, month)).toEqual({
      costNanoUsd: before.costNanoUsd + 1_000,
      tokens: before.tokens + 15,
      conversations: before.conversations + 1,
    });

    const seen = await withTenant(app.db, a.tenant.id, (tx) => tx.select({ tenantId: usageMonths.tenantId }).from(usageMonths));
    expect(new Set(seen.map((row) => row.tenantId))).toEqual(new Set([a.tenant.id]));
    const bBefore = await totals(b.tenant.id, month);
    for (const write of [
      (tenantId: string) =>
        withTenant(app.db, tenantId, (tx) => tx.insert(usageMonths).values({ tenantId: b.tenant.id, month: "2025-01-01" })),
      (tenantId: string) =>
        withTenant(app.db, tenantId, (tx) =>
          tx.insert(usageMonthConversations).values({ tenantId: b.tenant.id, month, conversationId: b.rows.conversations.id! }),
        ),
      (tenantId: string) => withTenant(app.db, tenantId, (tx) => tx.insert(usageRecords).values(record(b, {}))),
    ]) {
      await expect(write(a.tenant.id)).rejects.toThrow();
    }
    const updated = await withTenant(app.db, a.tenant.id, (tx) =>
      tx.update(usageMonths).set({ costNanoUsd: 0 }).where(eq(usageMonths.tenantId, b.tenant.id)).returning({ month: usageMonths.month }),
    );
    expect(updated).toEqual([]);
    expect(await totals(b.tenant.id, month)).toEqual(bBefore);
  });
});
