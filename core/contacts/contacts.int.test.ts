import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import { analyticsEndUsersHourly, auditLog, conversations, messages } from "../../db/schema";
import { runAsMember, useTestDatabase } from "../../test/support/verbs";
import type { AccessContext } from "../access/context";
import { ALL_PERMISSIONS, type Permission } from "../access/permissions";
import { DomainError } from "../errors";
import { eraseContact, exportContact, senderIdsOf, type ContactInput } from "./contacts";

const db = useTestDatabase();

function as<O>(
  graph: TenantGraph,
  verb: (args: { ctx: AccessContext; input: ContactInput }) => Promise<O>,
  input: ContactInput,
  permissions: readonly Permission[] = ALL_PERMISSIONS,
): Promise<O> {
  return runAsMember(db.app, graph, verb, input, permissions);
}

/**
 * A tenant whose Telegram channel has: a private chat with 12025550143 (a phone number as WhatsApp
 * writes it), a group where they and 777 both wrote (with a summary quoting them), and a private
 * chat with 777; every inbound message answered.
 */
async function tenantWithContacts() {
  const graph = buildTenantGraph();
  await insertTenantGraph(db.admin, graph);
  const { tenantId, channelId, agentId } = {
    tenantId: graph.tenant.id,
    channelId: graph.rows.channels.id!,
    agentId: graph.rows.agents.id!,
  };
  const [own, group, other] = [randomUUID(), randomUUID(), randomUUID()];
  await db.admin.insert(conversations).values([
    { id: own, tenantId, channelId, agentId, externalKey: `own-${own}` },
    { id: group, tenantId, channelId, agentId, externalKey: `group-${group}`, summary: "12025550143 asked about a refund" },
    { id: other, tenantId, channelId, agentId, externalKey: `other-${other}` },
  ]);
  let at = Date.parse("2026-11-01T10:00:00Z");
  const exchange = async (conversationId: string, sender: string, text: string) => {
    const inboundId = randomUUID();
    await db.admin.insert(messages).values([
      {
        id: inboundId,
        tenantId,
        conversationId,
        channelId,
        direction: "inbound" as const,
        providerMessageId: randomUUID(),
        status: "received" as const,
        content: text,
        sender: { id: sender },
        createdAt: new Date((at += 1000)),
      },
      {
        tenantId,
        conversationId,
        channelId,
        direction: "outbound" as const,
        replyToMessageId: inboundId,
        status: "sent" as const,
        content: `Answer to ${text}`,
        createdAt: new Date((at += 1000)),
      },
    ]);
  };
  await exchange(own, "12025550143", "Where is my refund?");
  await exchange(own, "12025550143", "My card ends 4242");
  await exchange(group, "12025550143", "Hi all, refund please");
  await exchange(group, "777", "Same question from me");
  await exchange(other, "777", "Private question");
  await db.admin
    .insert(analyticsEndUsersHourly)
    .values(["12025550143", "777"].map((endUser) => ({ tenantId, hour: new Date("2026-11-01T10:00:00Z"), channelId, agentId, endUser })));
  return { graph, own, group, other };
}

const contents = async (tenantId: string) =>
  (await db.admin.select({ content: messages.content }).from(messages).where(eq(messages.tenantId, tenantId)))
    .map((row) => row.content)
    .sort();

describe("contacts: an end user's data exported and erased", () => {
  it("reads phone numbers as their digits and email addresses in lower case", () => {
    expect(senderIdsOf("+1 (202) 555-0143")).toContain("12025550143");
    expect(senderIdsOf("Ada@Example.com")).toEqual(["Ada@Example.com", "ada@example.com"]);
    expect(senderIdsOf("777")).toEqual(["777"]);
  });

  it("exports their conversations: all of a private one, and only their part of a group", async () => {
    const { graph, own, group } = await tenantWithContacts();
    const exported = await as(graph, exportContact, { identity: "+1 (202) 555-0143" });
    expect(exported.conversations.map((conversation) => conversation.id).sort()).toEqual([own, group].sort());
    const byId = new Map(exported.conversations.map((conversation) => [conversation.id, conversation]));
    expect(byId.get(own)!.messages.map((message) => message.content)).toEqual([
      "Where is my refund?",
      "Answer to Where is my refund?",
      "My card ends 4242",
      "Answer to My card ends 4242",
    ]);
    expect(byId.get(group)!.messages.map((message) => message.content)).toEqual([
      "Hi all, refund please",
      "Answer to Hi all, refund please",
    ]);
    expect(exported).toMatchObject({ messageCount: 6, truncated: false, conversations: [{ channel: { kind: "telegram" } }, {}] });
  });

  it("erases them: the private chat whole, their part of the group and its summary, their analytics; others untouched; audited by a hash", async () => {
    const { graph, own, group, other } = await tenantWithContacts();
    const tenantId = graph.tenant.id;
    const erased = await as(graph, eraseContact, { identity: "+1 (202) 555-0143" });
    expect(erased).toMatchObject({ conversationsDeleted: 1, messagesDeleted: 6 });
    expect(erased.forget.endUsers).toContain(`${graph.rows.channels.id}:12025550143`);
    expect(erased.forget.conversationIds.sort()).toEqual([own, group].sort());

    expect(await contents(tenantId)).toEqual([
      "Answer to Private question",
      "Answer to Same question from me",
      "Private question",
      "Same question from me",
      // The fixture's own message (no sender) stays too.
      "hello",
    ]);
    const left = await db.admin.select().from(conversations).where(eq(conversations.tenantId, tenantId));
    const leftIds = left.map((conversation) => conversation.id);
    expect(leftIds).toEqual(expect.arrayContaining([group, other]));
    expect(leftIds).not.toContain(own);
    expect(left.find((conversation) => conversation.id === group)!.summary).toBeNull();
    const analytics = await db.admin.select().from(analyticsEndUsersHourly).where(eq(analyticsEndUsersHourly.tenantId, tenantId));
    expect(analytics.map((row) => row.endUser)).toContain("777");
    expect(analytics.map((row) => row.endUser)).not.toContain("12025550143");

    const [audit] = await db.admin
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.action, "contact.erase")));
    expect(audit!.resourceId).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(JSON.stringify(audit)).not.toContain("12025550143");

    // Repeated (a client's retry): nothing left, zeros, and the memory is still asked to forget.
    const again = await as(graph, eraseContact, { identity: "12025550143" });
    expect(again).toMatchObject({ conversationsDeleted: 0, messagesDeleted: 0 });
    expect(again.forget.endUsers).toContain(`${graph.rows.channels.id}:12025550143`);
    await expect(as(graph, exportContact, { identity: "12025550143" })).rejects.toMatchObject({ code: "NOT_FOUND", status: 404 });
  });

  it("never reaches another tenant's end user: their export is 404 and their erasure deletes nothing", async () => {
    const { graph: a } = await tenantWithContacts();
    const b = buildTenantGraph();
    await insertTenantGraph(db.admin, b);
    const before = await contents(a.tenant.id);
    await expect(as(b, exportContact, { identity: "12025550143" })).rejects.toMatchObject({ status: 404 });
    expect(await as(b, eraseContact, { identity: "12025550143" })).toMatchObject({ conversationsDeleted: 0, messagesDeleted: 0 });
    // Not even through a channel id of the other tenant.
    expect(await as(b, eraseContact, { identity: "12025550143", channelId: a.rows.channels.id })).toMatchObject({ messagesDeleted: 0 });
    expect(await contents(a.tenant.id)).toEqual(before);
  });

  it("needs contacts:read to export and contacts:delete to erase", async () => {
    const { graph } = await tenantWithContacts();
    const without = ALL_PERMISSIONS.filter((permission) => !permission.startsWith("contacts:"));
    // One at a time: a second refusal started beside the first would reject with nobody awaiting it yet.
    const attempts = [
      () => as(graph, exportContact, { identity: "777" }, without),
      () => as(graph, eraseContact, { identity: "777" }, without),
    ];
    for (const attempt of attempts) {
      const error = await (attempt() as Promise<unknown>).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ status: 403, code: "FORBIDDEN" });
    }
    expect(await contents(graph.tenant.id)).toHaveLength(11);
  });
});
