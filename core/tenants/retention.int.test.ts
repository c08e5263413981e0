import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { buildTenantGraph, insertTenantGraph } from "../../db/fixtures";
import { analyticsEndUsersHourly, auditLog, conversations, messages, tenants } from "../../db/schema";
import { useTestDatabase } from "../../test/support/verbs";
import { ANONYMISED_CONTENT, runRetention } from "./retention";
import type { RetentionPolicy } from "./settings";

const db = useTestDatabase();

/** The controlled clock: every date below is relative to it. */
const NOW = new Date("2027-03-01T12:00:00Z");
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

/**
 * A tenant with a policy, an old conversation (all messages 40 days old), and a long one (a
 * message 40 days old, one 5 days old, a summary).
 */
async function tenantWith(retention: RetentionPolicy | null) {
  const graph = buildTenantGraph();
  await insertTenantGraph(db.admin, graph);
  const tenantId = graph.tenant.id;
  await db.admin.update(tenants).set({ settings: { retention } }).where(eq(tenants.id, tenantId));
  const channelId = graph.rows.channels.id!;
  const agentId = graph.rows.agents.id!;
  const [old, ongoing] = [randomUUID(), randomUUID()];
  await db.admin.insert(conversations).values([
    { id: old, tenantId, channelId, agentId, externalKey: "+15550001", lastMessageAt: daysAgo(40) },
    { id: ongoing, tenantId, channelId, agentId, externalKey: "+15550002", lastMessageAt: daysAgo(5), summary: "Asked about order 7" },
  ]);
  const message = (conversationId: string, content: string, at: Date) => ({
    tenantId,
    conversationId,
    channelId,
    direction: "inbound" as const,
    providerMessageId: randomUUID(),
    status: "received" as const,
    content,
    sender: { id: "15550001", name: "Ada" },
    createdAt: at,
  });
  await db.admin
    .insert(messages)
    .values([
      message(old, "old secret", daysAgo(40)),
      message(ongoing, "old question about order 7", daysAgo(40)),
      message(ongoing, "recent question", daysAgo(5)),
    ]);
  await db.admin.insert(analyticsEndUsersHourly).values([
    { tenantId, hour: daysAgo(40), channelId, agentId, endUser: "15550001" },
    { tenantId, hour: daysAgo(5), channelId, agentId, endUser: "15550001" },
  ]);
  return { tenantId, old, ongoing };
}

const rowsOf = (tenantId: string) => db.admin.select().from(messages).where(eq(messages.tenantId, tenantId)).orderBy(messages.createdAt);

describe("retention", () => {
  it("deletes messages older than the tenant's days, the conversations left empty, their analytics and memory; once", async () => {
    const { tenantId, old, ongoing } = await tenantWith({ messagesDays: 30, mode: "delete" });
    const untouched = await tenantWith(null);
    const forgotten: Array<[string, string]> = [];
    const forgetBefore = async (id: string, cutoff: Date) => void forgotten.push([id, cutoff.toISOString()]);

    const outcomes = await runRetention({ db: db.app, forgetBefore }, NOW);
    const mine = outcomes.find((outcome) => outcome.tenantId === tenantId);
    // With the fixture's own conversation and message, written today, months before NOW.
    expect(mine).toMatchObject({ mode: "delete", messages: 3, conversations: 2, more: false });
    const left = await rowsOf(tenantId);
    expect(left.map((row) => row.content)).not.toContain("old secret");
    expect(left.map((row) => row.content)).toContain("recent question");
    expect(left.map((row) => row.content)).not.toContain("old question about order 7");
    const conversationIds = (await db.admin.select().from(conversations).where(eq(conversations.tenantId, tenantId))).map((row) => row.id);
    expect(conversationIds).not.toContain(old);
    expect(conversationIds).toContain(ongoing);
    const [kept] = await db.admin.select().from(conversations).where(eq(conversations.id, ongoing));
    expect(kept!.summary).toBeNull();
    const hours = await db.admin.select().from(analyticsEndUsersHourly).where(eq(analyticsEndUsersHourly.tenantId, tenantId));
    expect(hours.every((row) => row.hour >= daysAgo(30))).toBe(true);
    expect(forgotten).toContainEqual([tenantId, daysAgo(30).toISOString()]);
    const [audit] = await db.admin
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.action, "retention.apply")));
    expect(audit).toMatchObject({ actorType: "system", after: { mode: "delete", days: 30, messages: 3, conversations: 2 } });

    // A tenant without a policy keeps everything.
    expect((await rowsOf(untouched.tenantId)).map((row) => row.content)).toContain("old secret");
    // The next pass has nothing to do.
    const again = await runRetention({ db: db.app, forgetBefore }, NOW);
    expect(again.find((outcome) => outcome.tenantId === tenantId)).toMatchObject({ messages: 0, conversations: 0 });
  });

  it("anonymises instead: content replaced, senders and quiet conversations' channel keys dropped, counts kept", async () => {
    const { tenantId, old, ongoing } = await tenantWith({ messagesDays: 30, mode: "anonymise" });
    const outcomes = await runRetention({ db: db.app }, NOW);
    expect(outcomes.find((outcome) => outcome.tenantId === tenantId)).toMatchObject({ mode: "anonymise", messages: 3, conversations: 2 });
    const rows = await rowsOf(tenantId);
    const oldRows = rows.filter((row) => row.createdAt < daysAgo(30));
    expect(oldRows).toHaveLength(3);
    expect(oldRows.every((row) => row.content === ANONYMISED_CONTENT && row.sender === null)).toBe(true);
    expect(rows.find((row) => row.content === "recent question")!.sender).toMatchObject({ id: "15550001" });
    const byId = new Map(
      (await db.admin.select().from(conversations).where(eq(conversations.tenantId, tenantId))).map((row) => [row.id, row]),
    );
    expect(byId.get(old)!.externalKey).toBe(`anonymised:${old}`);
    expect(byId.get(ongoing)!.externalKey).toBe("+15550002");
    const hours = await db.admin.select().from(analyticsEndUsersHourly).where(eq(analyticsEndUsersHourly.tenantId, tenantId));
    const oldHour = hours.filter((row) => row.hour < daysAgo(30));
    // Ours and the fixture's: still counted, by nobody's name.
    expect(oldHour).toHaveLength(2);
    for (const row of oldHour) expect(row.endUser).toMatch(/^anonymised:[0-9a-f]{32}$/);
    // Once: nothing left to anonymise.
    const again = await runRetention({ db: db.app }, NOW);
    expect(again.find((outcome) => outcome.tenantId === tenantId)).toMatchObject({ messages: 0, conversations: 0 });
  });

  it("keeps a message one second younger than the cutoff and takes one a second older", async () => {
    const { tenantId } = await tenantWith({ messagesDays: 40, mode: "delete" });
    const [graphChannel] = await db.admin.select().from(conversations).where(eq(conversations.tenantId, tenantId)).limit(1);
    const edge = (content: string, at: Date) => ({
      tenantId,
      conversationId: graphChannel!.id,
      channelId: graphChannel!.channelId,
      direction: "inbound" as const,
      providerMessageId: randomUUID(),
      status: "received" as const,
      content,
      createdAt: at,
    });
    await db.admin
      .insert(messages)
      .values([edge("just inside", new Date(daysAgo(40).getTime() + 1000)), edge("just outside", new Date(daysAgo(40).getTime() - 1000))]);
    await runRetention({ db: db.app }, NOW);
    const contents = (await rowsOf(tenantId)).map((row) => row.content);
    expect(contents).toContain("just inside");
    expect(contents).not.toContain("just outside");
  });
});
