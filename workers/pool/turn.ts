import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { TelegramApiError, TelegramBotApi } from "../../core/channels/telegram/bot-api";
import { resolveChatModel, type ModelEnvironment } from "../../core/engine/models";
import { generateReply, type HistoryTurn } from "../../core/engine/reply";
import type { Logger } from "../../core/observability/log";
import type { InboundMessage } from "../../core/queue/inbound-message";
import { openCredentials, type Keyring } from "../../core/crypto/secrets";
import type { Database, Transaction } from "../../db/client";
import { agents, channels, conversations, messages, usageRecords, type Channel, type Message } from "../../db/schema";
import { withTenant } from "../../db/tenant";

export interface TurnDependencies {
  db: Database;
  keyring: Keyring;
  telegramApiBase: string;
  modelEnv: ModelEnvironment;
  logger: Logger;
}

export type TurnOutcome = "replied" | "already_replied" | "channel_paused" | "send_failed";

/** A message that can never be processed (unknown channel, foreign tenant): it stays for the dead-letter queue. */
export class UnprocessableMessageError extends Error {
  readonly code = "UNPROCESSABLE_MESSAGE";
}

/**
 * One inbound message, end to end, safe to run again for the same message:
 * 1. store the inbound message (unique per channel and provider id) and read the context;
 * 2. unless a reply is already recorded, run the agent and record the reply as `pending` (an
 *    outbox row, unique per inbound message);
 * 3. send every reply still `pending` and mark it `sent`.
 * A redelivery after step 3 sends nothing; after step 2 it sends the recorded reply without
 * asking the model again. Each step is its own short transaction: a model call never holds a
 * database connection.
 */
export async function processInboundMessage(deps: TurnDependencies, message: InboundMessage): Promise<TurnOutcome> {
  const logger = deps.logger.child({ tenantId: message.tenantId, channelId: message.channelId, providerMessageId: message.providerMessageId });
  const context = await withTenant(deps.db, message.tenantId, (tx) => recordInbound(tx, message));

  let reply = context.reply;
  if (reply?.status === "sent" || reply?.status === "failed") return "already_replied";
  if (context.channel.status === "paused") {
    logger.log("info", "turn.channel_paused");
    return "channel_paused";
  }

  if (!reply) {
    const resolved = resolveChatModel(context.agent, deps.modelEnv);
    const answer = await generateReply({
      chatModel: resolved.chatModel,
      systemPrompt: context.agent.systemPrompt,
      history: context.history,
      text: context.inbound.content,
    });
    reply = await withTenant(deps.db, message.tenantId, async (tx) => {
      const [created] = await tx
        .insert(messages)
        .values({
          tenantId: message.tenantId,
          conversationId: context.inbound.conversationId,
          channelId: message.channelId,
          direction: "outbound",
          replyToMessageId: context.inbound.id,
          status: "pending",
          content: answer.text,
        })
        .onConflictDoNothing({ target: messages.replyToMessageId })
        .returning();
      if (!created) {
        // Another delivery of the same message recorded its reply first; send that one.
        const [existing] = await tx.select().from(messages).where(eq(messages.replyToMessageId, context.inbound.id));
        return existing!;
      }
      await tx.insert(usageRecords).values({
        tenantId: message.tenantId,
        conversationId: created.conversationId,
        messageId: created.id,
        agentId: context.agent.id,
        model: resolved.model,
        provider: resolved.provider,
        inputTokens: answer.inputTokens,
        outputTokens: answer.outputTokens,
        latencyMs: answer.latencyMs,
      });
      return created;
    });
    logger.log("info", "turn.reply_recorded", { provider: resolved.provider, model: resolved.model, latencyMs: answer.latencyMs });
  }
  if (reply.status !== "pending") return "already_replied";

  return sendReply(deps, context.channel, message, reply, logger);
}

interface InboundContext {
  channel: Channel;
  agent: typeof agents.$inferSelect;
  inbound: Message;
  reply: Message | undefined;
  history: HistoryTurn[];
}

async function recordInbound(tx: Transaction, message: InboundMessage): Promise<InboundContext> {
  // Row-level security scopes every read: a channel of another tenant is simply not found.
  const [channel] = await tx.select().from(channels).where(eq(channels.id, message.channelId));
  if (!channel) throw new UnprocessableMessageError("channel not found for this tenant");
  if (channel.kind !== message.channelKind) throw new UnprocessableMessageError("channel kind does not match the message");
  const [agent] = await tx.select().from(agents).where(eq(agents.id, channel.agentId));
  if (!agent) throw new UnprocessableMessageError("the channel's agent no longer exists");

  const [conversation] = await tx
    .insert(conversations)
    .values({ tenantId: message.tenantId, channelId: channel.id, agentId: agent.id, externalKey: message.conversationKey })
    .onConflictDoUpdate({
      target: [conversations.channelId, conversations.externalKey],
      set: { lastMessageAt: sql`now()` },
    })
    .returning();

  const [inserted] = await tx
    .insert(messages)
    .values({
      tenantId: message.tenantId,
      conversationId: conversation!.id,
      channelId: channel.id,
      direction: "inbound",
      providerMessageId: message.providerMessageId,
      status: "received",
      content: message.text,
      sender: { id: message.sender.id, name: message.sender.displayName, username: message.sender.username },
    })
    .onConflictDoNothing()
    .returning();
  const inbound =
    inserted ??
    (
      await tx
        .select()
        .from(messages)
        .where(
          and(
            eq(messages.channelId, channel.id),
            eq(messages.direction, "inbound"),
            eq(messages.providerMessageId, message.providerMessageId),
          ),
        )
    )[0];
  if (!inbound) throw new Error("inbound message neither inserted nor found");

  const [reply] = inserted ? [] : await tx.select().from(messages).where(eq(messages.replyToMessageId, inbound.id));
  const earlier = await tx
    .select({ direction: messages.direction, content: messages.content })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, inbound.conversationId),
        lt(messages.createdAt, inbound.createdAt),
        inArray(messages.status, ["received", "sent"]),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(agent.memoryWindow);
  const history = earlier
    .reverse()
    .map((row): HistoryTurn => ({ role: row.direction === "inbound" ? "user" : "assistant", content: row.content }));
  return { channel, agent, inbound, reply, history };
}

async function sendReply(
  deps: TurnDependencies,
  channel: Channel,
  message: InboundMessage,
  reply: Message,
  logger: Logger,
): Promise<TurnOutcome> {
  if (!channel.credentials) throw new UnprocessableMessageError("the channel has no credentials");
  const { botToken } = await openCredentials<{ botToken: string }>(
    deps.keyring,
    { tenantId: channel.tenantId, owner: `channel:${channel.id}` },
    channel.credentials,
  );
  const api = new TelegramBotApi({ apiBase: deps.telegramApiBase, token: botToken });
  try {
    const sent = await api.sendMessage(message.conversationKey, reply.content);
    await withTenant(deps.db, message.tenantId, (tx) =>
      tx
        .update(messages)
        .set({ status: "sent", providerMessageId: String(sent.message_id), sentAt: new Date() })
        .where(and(eq(messages.id, reply.id), eq(messages.tenantId, message.tenantId))),
    );
    logger.log("info", "turn.reply_sent");
    return "replied";
  } catch (error) {
    if (error instanceof TelegramApiError && isPermanent(error)) {
      // The chat is gone or the bot was blocked: retrying cannot help, so record why and stop.
      await withTenant(deps.db, message.tenantId, (tx) =>
        tx
          .update(messages)
          .set({ status: "failed", error: `${error.status}: ${error.description}`.slice(0, 500) })
          .where(and(eq(messages.id, reply.id), eq(messages.tenantId, message.tenantId))),
      );
      logger.log("warn", "turn.send_failed", { status: error.status, description: error.description });
      return "send_failed";
    }
    throw error;
  }
}

/** 400 (chat not found, bad request) and 403 (bot blocked or kicked) never succeed on retry. */
function isPermanent(error: TelegramApiError): boolean {
  return error.status === 400 || error.status === 403;
}
