import { DEFAULT_WELCOME_MESSAGE, readChannelSettings } from "../../../core/channels/config";
import { isStartCommand, replyWithoutImages } from "../../../core/channels/content";
import { budgetMonth, budgetState } from "../../../core/engine/budget";
import { monthlyUsageCheck } from "../../../core/billing/limits";
import { DEFAULT_PLANS, effectivePlan } from "../../../core/billing/plans";
import { ALL_MODELS_FAILED_REPLY, COMMAND_REPLIES, parseCommand } from "../../../core/engine/commands";
import { openProviderKeys } from "../../../core/engine/credentials";
import { runEngineTurn } from "../../../core/engine/engine";
import { createProviderRegistry } from "../../../core/engine/providers";
import { builtinTools } from "../../../core/engine/tools";
import { memoryPrompt } from "../../../core/knowledge/memory";
import { knowledgePrompt, type RetrievedChunk } from "../../../core/knowledge/prompt";
import { citedExcerpts, retrievalQuery } from "../../../core/knowledge/turn-context";
import { describeError, type Logger } from "../../../core/observability/log";
import { storedModelPolicy } from "../../../core/tenants/settings";
import type { ModelSelectionRecord, NewUsageRecord, RetrievedChunkRecord } from "../../../db/schema";
import { agentHttpTools } from "../tools";
import { integrationTools } from "../integrations";
import { integrationConfig } from "../../../core/integrations/config";
import { channelAdapter } from "../../../core/channels/registry";
import type { EndUserIdentity } from "../../../core/channels/adapter";
import { replyStream } from "../../../core/channels/reply-stream";
import { AllModelsFailedError } from "../turn-errors";
import type { InboundContext } from "./context";
import { DEFAULT_MAX_RECEIVES, type Delivery, type TurnDependencies } from "./types";

/**
 * What the turn answers, decided with no transaction open: a command's answer (`/start`, `/reset`,
 * `/human`), the budget's hard-limit message, or the engine's answer (knowledge, long-term memory,
 * tools, model calls with fallbacks), with the usage to record beside it.
 */
export interface DecidedReply {
  content: string;
  usage?: Omit<NewUsageRecord, "tenantId" | "conversationId" | "messageId" | "agentId" | "agentVersion">;
  conversation?: { reset?: true; handoff?: true; summary?: { text: string; throughMessageId: string } };
  /** Raised once per kind and key (the month): budget limits, the plan's usage at 80 and 100 %. */
  alerts?: Array<{ kind: string; dedupeKey: string; details: Record<string, unknown>; deliveryStatus?: "pending" }>;
  /**
   * Work that need not delay the reply: writing the turn's conversation memory (an embedding and a
   * Chroma upsert). `replyInContext` runs it once the reply is sent or has failed; it never throws.
   */
  afterReply?: () => Promise<void>;
}

export async function decideReply(
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

  const month = budgetMonth(now);
  // The plan's monthly limits: a person over them gets the tenant's message (their message is
  // stored and in the inbox), and the admins are alerted at 80 and 100 percent, once a month each.
  const plan = effectivePlan(context.billing, deps.plans ?? DEFAULT_PLANS, now);
  const usage = monthlyUsageCheck(plan.limits, context.month);
  const planAlerts = usage.reached.map((reached) => ({
    kind: `plan.usage_${reached.percent}`,
    dedupeKey: `${month.key}:${reached.limit}`,
    details: { plan: plan.plan, limit: reached.limit, allowed: reached.allowed, used: reached.used, percent: reached.percent },
    // Emailed to the tenant's admins by the pool's alerting pass (workers/pool/alerts.ts).
    deliveryStatus: "pending" as const,
  }));
  // A phone line kept after a downgrade to a plan without calls: answered with the plan's message too.
  const refused = usage.over?.limit ?? (context.channel.kind === "voice" && !plan.limits.modules.voice ? "module:voice" : undefined);
  if (refused) {
    logger.log("warn", "turn.plan_limit", { plan: plan.plan, limit: refused });
    return {
      content: context.settings.planLimitMessage,
      usage: unanswered("plan_limited", `plan_limit:${refused}`, "normal"),
      alerts: planAlerts,
    };
  }

  const { budget } = context.settings;
  const state = budgetState(budget, context.spentNanoUsd);
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
      usage: unanswered("budget_blocked", "budget_hard_limit", "hard_limit"),
      alerts: [budgetAlert("budget.hard_limit"), ...planAlerts],
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
  const stream = liveReply(context, logger);
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
    tools: (deps.toolGuard ?? ((tools) => tools))([
      ...builtinTools(context.agent.builtinTools, { timezone: context.settings.timezone }),
      ...(await agentHttpTools(deps, context.agent, logger)),
      // The integrations module: a connection kept after a downgrade is not offered to the agent.
      ...(plan.limits.modules.integrations
        ? integrationTools(
            {
              db: deps.db,
              keyring: deps.keyring,
              config: deps.integrations ?? integrationConfig({}),
              logger,
              ...(deps.fetch ? { fetch: deps.fetch } : {}),
            },
            context.agent,
            endUserOf(context),
          )
        : []),
    ]),
    runContext: { tenantId: context.agent.tenantId, conversationId: context.conversation.id },
    budget: state,
    providers,
    timeoutMs: deps.modelEnv.MODEL_TIMEOUT_MS,
    ...(stream ? { stream } : {}),
  }).finally(() => stream?.close());
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
  else if (result.cancelled) logger.log("info", "turn.cancelled", { path, streamedChars: result.text.length });
  else
    logger.log("info", "turn.answered", {
      answeredBy: path.at(-1),
      reason: result.selection.reason,
      path,
      latencyMs: result.latencyMs,
      costNanoUsd: result.costNanoUsd,
    });
  const memory = deps.memory;
  // Keyed by the inbound message: a redelivered turn overwrites its own memory, never adds one.
  const remember =
    result.ok && !result.cancelled && memory
      ? () =>
          memory
            .remember({
              tenantId: context.agent.tenantId,
              endUser,
              conversationId: context.conversation.id,
              messageId: context.inbound.id,
              userText: context.inbound.content,
              replyText: result.text,
              at: context.inbound.createdAt,
            })
            .catch((error: unknown) => logger.log("warn", "turn.memory_write_failed", describeError(error)))
      : undefined;

  return {
    // Image markup never reaches a channel (or the web chat widget) as a URL to fetch or preview.
    content: result.ok ? replyWithoutImages(result.text) : ALL_MODELS_FAILED_REPLY,
    usage: {
      model: result.answeredBy?.model ?? "none",
      provider: result.answeredBy?.provider ?? "none",
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
      costNanoUsd: result.costNanoUsd,
      latencyMs: result.latencyMs,
      outcome: result.cancelled ? "cancelled" : result.ok ? "answered" : "all_failed",
      selection: result.selection,
      fallbackPath: result.attempts,
      toolCalls: result.toolCalls,
      retrievedChunks: chunkRecords(knowledge, result.ok ? result.text : ""),
    },
    ...(result.summary?.throughMessageId
      ? { conversation: { summary: { text: result.summary.text, throughMessageId: result.summary.throughMessageId } } }
      : {}),
    alerts: [...(state === "soft_limit" ? [budgetAlert("budget.soft_limit")] : []), ...planAlerts],
    ...(remember ? { afterReply: remember } : {}),
  };
}

/** The usage record of a turn no model answered (a limit's message went instead). */
function unanswered(
  outcome: "plan_limited" | "budget_blocked",
  reason: string,
  budget: ModelSelectionRecord["budget"],
): NonNullable<DecidedReply["usage"]> {
  return {
    model: "none",
    provider: "none",
    inputTokens: 0,
    outputTokens: 0,
    latencyMs: 0,
    outcome,
    selection: { reason, chain: [], skipped: [], budget },
  };
}

/**
 * The reply's live end, for a channel that shows a reply while it is written (a call, a watched
 * web chat) when the edge put one on the message: the URL the whole reply goes to later.
 */
function liveReply(context: InboundContext, logger: Logger) {
  const replyUrl = context.inbound.sender?.replyUrl;
  const turn = context.inbound.providerMessageId;
  if (!channelAdapter(context.channel.kind)?.capabilities.streaming || typeof replyUrl !== "string" || !turn) return undefined;
  return replyStream({ url: replyUrl, turn, logger });
}

/** The person as the channel identifies them (a WhatsApp number), for integration tools' lookups. */
function endUserOf(context: InboundContext): EndUserIdentity {
  const sender = context.inbound.sender;
  if (!sender?.id) return {};
  return channelAdapter(context.channel.kind)?.endUserIdentity?.({ id: sender.id, name: sender.name }) ?? {};
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
