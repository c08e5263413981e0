import { and, eq, sql } from "drizzle-orm";
import type { Transaction } from "../../../db/client";
import { alerts, conversations, messages, usageRecords, type Message } from "../../../db/schema";
import type { InboundContext } from "./context";
import type { DecidedReply } from "./decide";

/**
 * The reply, its usage, the conversation's memory and any alert: one transaction, first delivery
 * wins. `status` is `sending` when the turn sends it right after (the claim the sender would
 * otherwise write in a transaction of its own); `created` says whether this delivery's reply is
 * the one recorded, so only its own claim is acted on.
 */
export async function recordReply(
  tx: Transaction,
  context: InboundContext,
  decided: DecidedReply,
  covered: string[],
  status: "pending" | "sending" = "pending",
): Promise<{ reply: Message; created: boolean }> {
  const tenantId = context.channel.tenantId;
  const [created] = await tx
    .insert(messages)
    .values({
      tenantId,
      conversationId: context.inbound.conversationId,
      channelId: context.channel.id,
      direction: "outbound",
      replyToMessageId: context.inbound.id,
      status,
      content: decided.content,
    })
    .onConflictDoNothing({ target: messages.replyToMessageId })
    .returning();
  if (!created) {
    // Another delivery of the same message recorded its reply first; send that one.
    const [existing] = await tx
      .select()
      .from(messages)
      .where(and(eq(messages.tenantId, tenantId), eq(messages.replyToMessageId, context.inbound.id)));
    return { reply: existing!, created: false };
  }
  if (covered.length > 0) {
    await tx
      .insert(messages)
      .values(
        covered.map((inboundId) => ({
          tenantId,
          conversationId: context.inbound.conversationId,
          channelId: context.channel.id,
          direction: "outbound" as const,
          replyToMessageId: inboundId,
          status: "covered" as const,
          content: "",
          error: `answered together with later messages by reply ${created.id}`,
        })),
      )
      .onConflictDoNothing({ target: messages.replyToMessageId });
  }
  if (decided.usage) {
    await tx.insert(usageRecords).values({
      ...decided.usage,
      tenantId,
      conversationId: created.conversationId,
      messageId: created.id,
      agentId: context.agent.id,
      agentVersion: context.agent.currentVersion,
    });
  }
  const scoped = and(eq(conversations.tenantId, tenantId), eq(conversations.id, context.conversation.id));
  const change = decided.conversation;
  if (change?.reset) {
    await tx
      .update(conversations)
      .set({ resetAt: sql`now()`, summary: null, summaryThrough: null })
      .where(scoped);
  }
  if (change?.handoff) {
    await tx
      .update(conversations)
      .set({ status: "handed_off", handedOffAt: sql`now()` })
      .where(scoped);
    // The sender reads it (a voice call transfers to a person after the reply).
    context.conversation.status = "handed_off";
  }
  if (change?.summary) {
    // Timestamps are compared in the database (microseconds); a concurrent newer summary wins.
    const through = sql`(select m.created_at from messages m where m.tenant_id = ${tenantId} and m.id = ${change.summary.throughMessageId})`;
    await tx
      .update(conversations)
      .set({ summary: change.summary.text, summaryThrough: through })
      .where(and(scoped, sql`(${conversations.summaryThrough} is null or ${conversations.summaryThrough} < ${through})`));
  }
  if (decided.alerts?.length) {
    await tx
      .insert(alerts)
      .values(decided.alerts.map((alert) => ({ tenantId, ...alert })))
      .onConflictDoNothing();
  }
  return { reply: created, created: true };
}
