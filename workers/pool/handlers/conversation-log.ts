import { and, desc, eq } from "drizzle-orm";
import { channelAdapter } from "../../../core/channels/registry";
import { NotConnectedError } from "../../../core/integrations/access";
import { integrationConfig } from "../../../core/integrations/config";
import { integrationProvider, isProviderId } from "../../../core/integrations/registry";
import { ProviderError, type Transcript } from "../../../core/integrations/types";
import type { ConversationLogMessage } from "../../../core/queue/inbound-message";
import { channels, conversations, integrationConnections, integrationEvents, messages } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import { callWithAccess } from "../integrations";
import type { MessageHandler } from "./types";

/** The most recent messages a transcript carries (a CRM note is not an archive). */
const TRANSCRIPT_MESSAGES = 200;

/**
 * `conversation.log`: a conversation was handed to a person. For each of the tenant's active
 * connections whose `logConversations` setting is on, the transcript goes to that CRM once per
 * handoff (recorded as an `integration_events` row keyed by conversation and handoff, so a
 * redelivery writes nothing twice). A CRM that is unreachable or rate limiting makes the message go
 * back to the queue (retried, then dead-lettered: never silently dropped); one that refuses, or a
 * connection that needs re-authorising, is recorded and not retried.
 */
export const handleConversationLog: MessageHandler<ConversationLogMessage> = async (deps, job) => {
  const logger = deps.logger.child({
    tenantId: job.tenantId,
    conversationId: job.conversationId,
    ...(job.requestId ? { requestId: job.requestId } : {}),
  });
  const externalId = `transcript:${job.conversationId}:${job.occurrence}`;
  const loaded = await withTenant(deps.db, job.tenantId, async (tx) => {
    const connections = await tx
      .select({ provider: integrationConnections.provider, settings: integrationConnections.settings })
      .from(integrationConnections)
      .where(and(eq(integrationConnections.tenantId, job.tenantId), eq(integrationConnections.status, "active")));
    const logged = await tx
      .select({ provider: integrationEvents.provider })
      .from(integrationEvents)
      .where(and(eq(integrationEvents.tenantId, job.tenantId), eq(integrationEvents.externalId, externalId)));
    const [found] = await tx
      .select({ conversation: conversations, channel: channels })
      .from(conversations)
      .innerJoin(channels, and(eq(channels.tenantId, job.tenantId), eq(channels.id, conversations.channelId)))
      .where(and(eq(conversations.tenantId, job.tenantId), eq(conversations.id, job.conversationId)));
    const history = found
      ? await tx
          .select({ direction: messages.direction, content: messages.content, sender: messages.sender, createdAt: messages.createdAt })
          .from(messages)
          .where(and(eq(messages.tenantId, job.tenantId), eq(messages.conversationId, job.conversationId)))
          .orderBy(desc(messages.createdAt))
          .limit(TRANSCRIPT_MESSAGES)
      : [];
    const done = new Set(logged.map((row) => row.provider));
    const wanted = connections.filter((c) => c.settings.logConversations === true && !done.has(c.provider) && isProviderId(c.provider));
    return { wanted, found, history: history.reverse() };
  });
  if (!loaded.found || loaded.wanted.length === 0) return "status_recorded";
  const { conversation, channel } = loaded.found;
  const adapter = channelAdapter(channel.kind);
  const sender = [...loaded.history].reverse().find((m) => m.direction === "inbound")?.sender;
  const transcript: Transcript = {
    conversationId: conversation.id,
    channel: adapter?.displayName ?? channel.kind,
    endUser: (sender?.id && adapter?.endUserIdentity?.({ id: sender.id, name: sender.name })) || {},
    subject: `${adapter?.displayName ?? channel.kind} conversation handed to a person`,
    lines: loaded.history.map(
      (m) =>
        `${m.createdAt.toISOString().slice(0, 16).replace("T", " ")} ${m.direction === "inbound" ? "Customer" : "Agent"}: ${m.content}`,
    ),
  };
  const runtime = {
    db: deps.db,
    keyring: deps.keyring,
    config: deps.integrations ?? integrationConfig({}),
    logger,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  for (const { provider: id } of loaded.wanted) {
    const provider = integrationProvider(id as Parameters<typeof integrationProvider>[0]);
    if (!provider.logTranscript) continue;
    let outcome: { written: boolean; text: string; refs?: string[] };
    try {
      outcome = await callWithAccess(runtime, job.tenantId, provider, (client) => provider.logTranscript!(client, transcript));
    } catch (error) {
      const retryable = error instanceof ProviderError && (error.status === undefined || error.status === 429 || error.status >= 500);
      if (retryable) throw error;
      if (!(error instanceof NotConnectedError) && !(error instanceof ProviderError)) throw error;
      outcome = { written: false, text: error.message };
    }
    await withTenant(deps.db, job.tenantId, (tx) =>
      tx
        .insert(integrationEvents)
        .values({ tenantId: job.tenantId, provider: id, externalId, kind: "transcript", conversationId: conversation.id, details: outcome })
        .onConflictDoNothing(),
    );
    logger.log(outcome.written ? "info" : "warn", "integration.transcript", {
      provider: id,
      written: outcome.written,
      detail: outcome.text,
    });
  }
  return "status_recorded";
};
