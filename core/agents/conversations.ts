import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { conversations, type ConversationStatus } from "../../db/schema";
import { requirePermission } from "../access/permissions";
import { recordAudit } from "../access/audit";
import { type DomainContext } from "./context";
import { DomainError } from "../errors";

export interface ConversationHandoffView {
  id: string;
  status: ConversationStatus;
  handedOffAt: Date | null;
}

const input = z.object({ conversationId: z.uuid() });

/**
 * Gives a handed-off conversation back to the agent (after a person dealt with it): the agent
 * answers its next message again. Releasing an open conversation changes nothing.
 */
export async function releaseConversation({ ctx, input: raw }: { ctx: DomainContext; input: { conversationId: string } }) {
  requirePermission(ctx, "agents:write");
  return setHandoff(ctx, raw, "open");
}

/** Hands a conversation to a person from the API (the `/human` command does the same from the chat). */
export async function handOffConversation({ ctx, input: raw }: { ctx: DomainContext; input: { conversationId: string } }) {
  requirePermission(ctx, "agents:write");
  return setHandoff(ctx, raw, "handed_off");
}

async function setHandoff(ctx: DomainContext, raw: unknown, status: "open" | "handed_off"): Promise<ConversationHandoffView> {
  const parsed = input.safeParse(raw);
  if (!parsed.success) throw new DomainError("CONVERSATION_NOT_FOUND", 404, "conversation not found");
  const { conversationId } = parsed.data;
  const [updated] = await ctx.tx
    .update(conversations)
    .set(status === "open" ? { status, handedOffAt: null } : { status, handedOffAt: sql`now()` })
    .where(and(eq(conversations.tenantId, ctx.tenantId), eq(conversations.id, conversationId)))
    .returning({ id: conversations.id, status: conversations.status, handedOffAt: conversations.handedOffAt });
  if (!updated) throw new DomainError("CONVERSATION_NOT_FOUND", 404, "conversation not found");
  await recordAudit(ctx, {
    action: status === "open" ? "conversation.release" : "conversation.handoff",
    resourceType: "conversation",
    resourceId: conversationId,
  });
  return updated;
}
