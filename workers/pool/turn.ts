import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { addressedToBot, addressedToChannel, inboundContent, isStartCommand } from "../../core/channels/content";
import { DEFAULT_WELCOME_MESSAGE, readChannelSettings } from "../../core/channels/config";
import type { Keyring } from "../../core/crypto/secrets";
import { budgetMonth, budgetState } from "../../core/engine/budget";
import { ALL_MODELS_FAILED_REPLY, COMMAND_REPLIES, parseCommand } from "../../core/engine/commands";
import { openProviderKeys, type ProviderCredentials } from "../../core/engine/credentials";
import { runEngineTurn } from "../../core/engine/engine";
import type { MemoryMessage } from "../../core/engine/memory";
import { createProviderRegistry, type ProviderRegistry, type ResolvedModelEnvironment } from "../../core/engine/providers";
import { builtinTools } from "../../core/engine/tools";
import { agentHttpTools, type ToolRuntime } from "./tools";
import { memoryPrompt, type ConversationMemory } from "../../core/knowledge/memory";
import { knowledgePrompt, type RetrievedChunk } from "../../core/knowledge/prompt";
import type { KnowledgeRequest } from "../../core/knowledge/service";
import { citedExcerpts, retrievalQuery } from "../../core/knowledge/turn-context";
import { describeError, type Logger } from "../../core/observability/log";
import type { TurnMetrics } from "../../core/observability/metrics";
import type { InboundChatMessage, InboundMessage } from "../../core/queue/inbound-message";
import { readTenantSettings, storedModelPolicy, type TenantSettings } from "../../core/tenants/settings";
import type { Database, Transaction } from "../../db/client";
import {
  agents,
  alerts,
  channels,
  conversations,
  messages,
  tenants,
  usageRecords,
  type Channel,
  type Conversation,
  type Message,
  type NewUsageRecord,
  type RetrievedChunkRecord,
} from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { recordDeliveryStatus } from "./delivery-status";
import { flushConversation } from "./merge";
import { resolveMedia } from "./media";
import { sendOperatorMessage } from "./operator";
import { sendReply, settleUnconfirmed } from "./reply";
import { AllModelsFailedError, TurnReleasedError, UnprocessableMessageError } from "./turn-errors";
import { conversationFlushMessage } from "../../core/queue/builders";

export { AllModelsFailedError, TurnReleasedError, UnprocessableMessageError };

export interface TurnDependencies {
  db: Database;
  keyring: Keyring;
  telegramApiBase: string;
  /** WhatsApp Cloud API base with its version (core/endpoints.ts). */
  whatsappApiBase: string;
  /** Puts a message on the inbound queue (flushes of merged rapid messages); without it messages are never merged. */
  enqueue?: (message: InboundMessage) => Promise<void>;
  /** Waits: channel rate-limit back-off and the merge window; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
  /** First back-off for WhatsApp rate limits (doubles per attempt); default 1000 ms. */
  rateLimitBaseMs?: number;
  modelEnv: ResolvedModelEnvironment;
  logger: Logger;
  /** The process's metrics (workers/pool/metrics.ts); none by default. */
  metrics?: TurnMetrics;
  /** Builds the turn's provider registry from the tenant's opened keys; tests and benchmarks swap it. */
  providers?: (credentials: ProviderCredentials) => ProviderRegistry;
  now?: () => Date;
  /** Retrieves the agent's knowledge for a message (core/knowledge/service.ts); absent without Chroma. */
  knowledge?: (request: KnowledgeRequest) => Promise<RetrievedChunk[]>;
  /** Long-term memory of each end user's past turns (core/knowledge/memory.ts); absent without Chroma. */
  memory?: ConversationMemory;
  /** Runs tenant HTTP tools (SSRF-safe client, OAuth2 token cache); default: the platform policy, no exceptions. */
  tools?: ToolRuntime;
}

/** Where this message is in its life on the queue. */
export interface Delivery {
  /** SQS `ApproximateReceiveCount`: 1 on the first delivery. */
  receiveCount: number;
  /** The redrive policy's maximum; on this receive a failing turn apologises instead of retrying. Default 5. */
  maxReceives?: number;
  /**
   * Asked right before the reply is handed to the channel (the point of no return). Answering
   * false (the pool is shutting down past its deadline) stops the turn with `TurnReleasedError`
   * and nothing is sent; answering true promises the caller waits for the turn to finish.
   */
  enterSending?: () => boolean;
}

export const DEFAULT_MAX_RECEIVES = 5;

export type TurnOutcome =
  | "replied"
  | "already_replied"
  | "channel_paused"
  | "send_failed"
  | "handed_off"
  /** A group message not addressed to the bot: not stored, not answered. */
  | "ignored"
  /** Stored; answered together with the messages after it once the merge window passes. */
  | "deferred"
  /** A delivery status recorded on the reply it reports on (no agent ran). */
  | "status_recorded";

/**
 * One inbound message, end to end, safe to run again for the same message:
 * 1. store the inbound message (unique per channel and provider id) and read the context: agent
 *    version, conversation memory (summary + recent messages), tenant settings, month's spend;
 * 2. unless a reply is already recorded, decide it: a command's answer (`/reset`, `/human`), the
 *    budget's hard-limit message, or the engine's answer (model calls, no transaction open); then
 *    record it as `pending` (an outbox row, unique per inbound message) with its usage record and
 *    the conversation's new summary, in one transaction;
 * 3. send every reply still `pending` and mark it `sent`.
 * A redelivery after step 3 sends nothing; after step 2 it sends the recorded reply without
 * asking the model again. When every model candidate fails, the turn throws for redelivery until
 * the last allowed receive; then it records and sends an apology, so nothing is dropped and nobody
 * is left without an answer. A conversation handed off to a human gets no reply.
 */
export async function processInboundMessage(
  deps: TurnDependencies,
  message: InboundMessage,
  delivery: Delivery = { receiveCount: 1 },
): Promise<TurnOutcome> {
  if (message.kind === "delivery.status") return recordDeliveryStatus(deps, message);
  if (message.kind === "operator.message") return sendOperatorMessage(deps, message, delivery);
  if (message.kind === "conversation.flush") {
    return flushConversation(deps, message, (last, covered) => answerMessage(deps, last, delivery, { covered }));
  }
  return answerMessage(deps, await resolveMedia(deps, message), delivery, {});
}

interface AnswerOptions {
  /**
   * Earlier unanswered messages this turn's reply answers too (merged rapid messages): they get
   * `covered` reply rows in the reply's transaction, so none of them is ever answered again.
   */
  covered?: string[];
}

async function answerMessage(
  deps: TurnDependencies,
  message: InboundChatMessage,
  delivery: Delivery,
  options: AnswerOptions,
): Promise<TurnOutcome> {
  let logger = deps.logger.child({
    tenantId: message.tenantId,
    channelId: message.channelId,
    providerMessageId: message.providerMessageId,
    ...(message.requestId ? { requestId: message.requestId } : {}),
  });
  const now = deps.now?.() ?? new Date();
  const context = await withTenant(deps.db, message.tenantId, (tx) => recordInbound(tx, message, now));
  if (context === "wrong_account") {
    // Not the channel's phone number: never answered from it. Logged loudly (a subscription to fix).
    logger.log("warn", "turn.wrong_account", { accountId: message.accountId });
    return "ignored";
  }
  if (context === "not_addressed") {
    logger.log("debug", "turn.not_addressed");
    return "ignored";
  }
  logger = logger.child({ conversationId: context.conversation.id });

  let reply = context.reply;
  if (reply?.status === "sending") {
    // An earlier delivery handed this reply to the channel and stopped before recording the
    // answer. Sending again could show it twice; Telegram has no idempotency key to ask.
    await settleUnconfirmed(deps, message.tenantId, reply.id);
    logger.log("warn", "turn.delivery_unconfirmed", { replyId: reply.id });
    return "already_replied";
  }
  if (reply?.status === "sent" || reply?.status === "failed" || reply?.status === "covered") return "already_replied";
  if (context.channel.status === "paused") {
    logger.log("info", "turn.channel_paused");
    return "channel_paused";
  }

  if (!reply) {
    if (context.conversation.status === "handed_off") {
      logger.log("info", "turn.handed_off", { conversationId: context.conversation.id });
      return "handed_off";
    }
    const { mergeWindowMs } = readChannelSettings(context.channel.config);
    if (mergeWindowMs && deps.enqueue && options.covered === undefined) {
      // Rapid messages: a flush in the conversation's flush group answers everything unanswered
      // once the window since the last message has passed (workers/pool/merge.ts).
      await deps.enqueue(
        conversationFlushMessage({
          tenantId: message.tenantId,
          channelId: message.channelId,
          channelKind: message.channelKind,
          conversationKey: message.conversationKey,
          providerMessageId: `flush:${context.inbound.id}`,
          receivedAt: now,
        }),
      );
      logger.log("debug", "turn.deferred", { mergeWindowMs });
      return "deferred";
    }
    const decided = await decideReply(deps, context, delivery, now, logger);
    reply = await withTenant(deps.db, message.tenantId, (tx) => recordReply(tx, context, decided, options.covered ?? []));
  }
  if (reply.status !== "pending") return "already_replied";

  if (delivery.enterSending && !delivery.enterSending()) throw new TurnReleasedError("the pool is stopping; released before sending");
  // Fixable by an operator (the message waits in the dead-letter queue for a replay), so not a
  // permanent failure of this reply.
  const { channel } = context;
  if ((channel.kind === "telegram" || channel.kind === "whatsapp") && !channel.credentials) {
    throw new UnprocessableMessageError("the channel has no credentials");
  }
  return sendReply(deps, context, reply, logger);
}

interface InboundContext {
  channel: Channel;
  agent: typeof agents.$inferSelect;
  conversation: Conversation;
  inbound: Message;
  reply: Message | undefined;
  history: MemoryMessage[];
  settings: TenantSettings;
  spentNanoUsd: number;
}

interface DecidedReply {
  content: string;
  usage?: Omit<NewUsageRecord, "tenantId" | "conversationId" | "messageId" | "agentId" | "agentVersion">;
  conversation?: { reset?: true; handoff?: true; summary?: { text: string; throughMessageId: string } };
  alert?: { kind: string; dedupeKey: string; details: Record<string, unknown> };
}

async function decideReply(
  deps: TurnDependencies,
  context: InboundContext,
  delivery: Delivery,
  now: Date,
  logger: Logger,
): Promise<DecidedReply> {
  if (isStartCommand(context.inbound.content)) {
    return { content: readChannelSettings(context.channel.config).welcomeMessage ?? DEFAULT_WELCOME_MESSAGE };
  }
  const command = parseCommand(context.inbound.content);
  if (command === "reset") return { content: COMMAND_REPLIES.reset, conversation: { reset: true } };
  if (command === "handoff") return { content: COMMAND_REPLIES.handoff, conversation: { handoff: true } };

  const { budget } = context.settings;
  const state = budgetState(budget, context.spentNanoUsd);
  const month = budgetMonth(now);
  const budgetAlert = (kind: string) => ({
    kind,
    dedupeKey: month.key,
    details: { monthlyLimitUsd: budget.monthlyLimitUsd, spentUsd: context.spentNanoUsd / 1e9 },
  });
  if (state === "hard_limit") {
    logger.log("warn", "turn.budget_hard_limit", { month: month.key });
    deps.metrics?.budgetEvent("budget.hard_limit");
    return {
      content: budget.hardLimitMessage,
      usage: {
        model: "none",
        provider: "none",
        inputTokens: 0,
        outputTokens: 0,
        latencyMs: 0,
        outcome: "budget_blocked",
        selection: { reason: "budget_hard_limit", chain: [], skipped: [], budget: "hard_limit" },
      },
      alert: budgetAlert("budget.hard_limit"),
    };
  }

  const { credentials, unreadable } = await openProviderKeys(deps.keyring, context.agent.tenantId, context.settings);
  if (unreadable.length) logger.log("warn", "turn.provider_keys_unreadable", { providers: unreadable });
  const providers = deps.providers?.(credentials) ?? createProviderRegistry(deps.modelEnv, credentials);
  // Knowledge: the most relevant chunks go into the system prompt as a delimited block declared
  // to be data; their ids are kept with the turn's usage record, marked when the reply cites them.
  const { knowledgeBaseIds, knowledgeSourceIds } = context.agent;
  const knowledge =
    deps.knowledge && (knowledgeBaseIds.length || knowledgeSourceIds.length)
      ? await deps.knowledge({
          tenantId: context.agent.tenantId,
          knowledgeBaseIds,
          sourceIds: knowledgeSourceIds,
          query: retrievalQuery(context.inbound.content, context.history),
        })
      : [];
  // Memory: this end user's past turns from before the verbatim window (and after any /reset).
  const endUser = `${context.channel.id}:${context.inbound.sender?.id ?? context.conversation.externalKey}`;
  const recalled = deps.memory
    ? await deps.memory
        .recall({
          tenantId: context.agent.tenantId,
          endUser,
          query: context.inbound.content,
          after: context.conversation.resetAt,
          before: context.history[0]?.createdAt ?? context.inbound.createdAt,
        })
        .catch((error: unknown) => {
          logger.log("warn", "turn.memory_recall_failed", describeError(error));
          return [];
        })
    : [];
  const result = await runEngineTurn({
    agent: {
      id: context.agent.id,
      version: context.agent.currentVersion,
      systemPrompt: context.agent.systemPrompt + knowledgePrompt(knowledge) + memoryPrompt(recalled),
      temperature: context.agent.temperature,
      maxOutputTokens: context.agent.maxOutputTokens,
      memoryWindow: context.agent.memoryWindow,
      modelPolicy: storedModelPolicy(context.agent.modelPolicy) ?? context.settings.defaultModelPolicy,
    },
    channel: context.channel.kind,
    history: context.history,
    summary: context.conversation.summary,
    text: context.inbound.content,
    tools: [
      ...builtinTools(context.agent.builtinTools, { timezone: context.settings.timezone }),
      ...(await agentHttpTools(deps, context.agent, logger)),
    ],
    runContext: { tenantId: context.agent.tenantId, conversationId: context.conversation.id },
    budget: state,
    providers,
    timeoutMs: deps.modelEnv.MODEL_TIMEOUT_MS,
  });
  const path = result.attempts.map((a) => `${a.provider}:${a.model}=${a.outcome}`);
  deps.metrics?.engineTurn(result);
  if (state === "soft_limit") deps.metrics?.budgetEvent("budget.soft_limit");
  const maxReceives = delivery.maxReceives ?? DEFAULT_MAX_RECEIVES;
  if (!result.ok && delivery.receiveCount < maxReceives) {
    logger.log("warn", "turn.all_models_failed", { path, receiveCount: delivery.receiveCount, maxReceives, willRetry: true });
    throw new AllModelsFailedError(path);
  }
  if (!result.ok)
    logger.log("error", "turn.all_models_failed", { path, receiveCount: delivery.receiveCount, maxReceives, willRetry: false });
  else
    logger.log("info", "turn.answered", {
      answeredBy: path.at(-1),
      reason: result.selection.reason,
      path,
      latencyMs: result.latencyMs,
      costNanoUsd: result.costNanoUsd,
    });
  if (result.ok && deps.memory) {
    // Keyed by the inbound message: a redelivered turn overwrites its own memory, never adds one.
    await deps.memory
      .remember({
        tenantId: context.agent.tenantId,
        endUser,
        conversationId: context.conversation.id,
        messageId: context.inbound.id,
        userText: context.inbound.content,
        replyText: result.text,
        at: context.inbound.createdAt,
      })
      .catch((error: unknown) => logger.log("warn", "turn.memory_write_failed", describeError(error)));
  }

  return {
    content: result.ok ? result.text : ALL_MODELS_FAILED_REPLY,
    usage: {
      model: result.answeredBy?.model ?? "none",
      provider: result.answeredBy?.provider ?? "none",
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
      costNanoUsd: result.costNanoUsd,
      latencyMs: result.latencyMs,
      outcome: result.ok ? "answered" : "all_failed",
      selection: result.selection,
      fallbackPath: result.attempts,
      toolCalls: result.toolCalls,
      retrievedChunks: chunkRecords(knowledge, result.ok ? result.text : ""),
    },
    ...(result.summary?.throughMessageId
      ? { conversation: { summary: { text: result.summary.text, throughMessageId: result.summary.throughMessageId } } }
      : {}),
    ...(state === "soft_limit" ? { alert: budgetAlert("budget.soft_limit") } : {}),
  };
}

/** The chunks the prompt numbered 1..n, each marked when the reply cites it as `[n]`. */
function chunkRecords(chunks: RetrievedChunk[], reply: string): RetrievedChunkRecord[] {
  const cited = new Set(citedExcerpts(reply, chunks.length));
  return chunks.map(({ chunkId, sourceId, knowledgeBaseId, score }, i) => ({
    chunkId,
    sourceId,
    knowledgeBaseId,
    score,
    n: i + 1,
    cited: cited.has(i + 1),
  }));
}

/** The reply, its usage, the conversation's memory and any alert: one transaction, first delivery wins. */
async function recordReply(tx: Transaction, context: InboundContext, decided: DecidedReply, covered: string[]): Promise<Message> {
  const tenantId = context.agent.tenantId;
  const [created] = await tx
    .insert(messages)
    .values({
      tenantId,
      conversationId: context.inbound.conversationId,
      channelId: context.channel.id,
      direction: "outbound",
      replyToMessageId: context.inbound.id,
      status: "pending",
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
    return existing!;
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
  }
  if (change?.summary) {
    // Timestamps are compared in the database (microseconds); a concurrent newer summary wins.
    const through = sql`(select m.created_at from messages m where m.tenant_id = ${tenantId} and m.id = ${change.summary.throughMessageId})`;
    await tx
      .update(conversations)
      .set({ summary: change.summary.text, summaryThrough: through })
      .where(and(scoped, sql`(${conversations.summaryThrough} is null or ${conversations.summaryThrough} < ${through})`));
  }
  if (decided.alert) {
    await tx
      .insert(alerts)
      .values({ tenantId, ...decided.alert })
      .onConflictDoNothing();
  }
  return created;
}

/** Why a message is not the bot's business: it is acknowledged, not stored, not answered. */
type NotAddressed = "wrong_account" | "not_addressed";

async function recordInbound(tx: Transaction, message: InboundChatMessage, now: Date): Promise<InboundContext | NotAddressed> {
  // Row-level security scopes every read: a channel of another tenant is simply not found.
  const [channel] = await tx
    .select()
    .from(channels)
    .where(and(eq(channels.tenantId, message.tenantId), eq(channels.id, message.channelId)));
  if (!channel) throw new UnprocessableMessageError("channel not found for this tenant");
  if (channel.kind !== message.channelKind) throw new UnprocessableMessageError("channel kind does not match the message");
  const [agent] = await tx
    .select()
    .from(agents)
    .where(and(eq(agents.tenantId, message.tenantId), eq(agents.id, channel.agentId)));
  if (!agent) throw new UnprocessableMessageError("the channel's agent no longer exists");
  const channelSettings = readChannelSettings(channel.config);
  if (!addressedToChannel(message, channelSettings)) return "wrong_account";
  // Group chats: only messages that mention or reply to the bot are the bot's business.
  if (!addressedToBot(message, channelSettings)) return "not_addressed";
  const [tenant] = await tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, message.tenantId));
  const settings = readTenantSettings(tenant?.settings);

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
      content: inboundContent(message, channelSettings),
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
            eq(messages.tenantId, message.tenantId),
            eq(messages.channelId, channel.id),
            eq(messages.direction, "inbound"),
            eq(messages.providerMessageId, message.providerMessageId),
          ),
        )
    )[0];
  if (!inbound) throw new Error("inbound message neither inserted nor found");

  const [reply] = inserted
    ? []
    : await tx
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, message.tenantId), eq(messages.replyToMessageId, inbound.id)));

  // Memory: what came after the summary and after any reset, before this message. Bounded at two
  // windows: if summarising keeps failing, the oldest unsummarised messages drop out first.
  const conv = conversation!;
  const earlier = await tx
    .select({ id: messages.id, direction: messages.direction, content: messages.content, createdAt: messages.createdAt })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, message.tenantId),
        eq(messages.conversationId, inbound.conversationId),
        sql`${messages.createdAt} < (select m.created_at from messages m where m.id = ${inbound.id})`,
        sql`${messages.createdAt} > coalesce((select greatest(c.reset_at, c.summary_through) from conversations c where c.id = ${conv.id}), '-infinity'::timestamptz)`,
        inArray(messages.status, ["received", "sent"]),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(agent.memoryWindow * 2 + 2);
  const history = earlier.reverse().map((row): MemoryMessage => ({
    id: row.id,
    role: row.direction === "inbound" ? "user" : "assistant",
    content: row.content,
    createdAt: row.createdAt,
  }));

  const [spent] = await tx
    .select({ total: sql<string>`coalesce(sum(${usageRecords.costNanoUsd}), 0)::text` })
    .from(usageRecords)
    .where(
      and(
        eq(usageRecords.tenantId, message.tenantId),
        sql`${usageRecords.createdAt} >= ${budgetMonth(now).start.toISOString()}::timestamptz`,
      ),
    );
  return { channel, agent, conversation: conv, inbound, reply, history, settings, spentNanoUsd: Number(spent?.total ?? 0) };
}
