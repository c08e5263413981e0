import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { addressedToBot, addressedToChannel, inboundContent } from "../../../core/channels/content";
import { readChannelSettings } from "../../../core/channels/config";
import { openChannelCredentials } from "../../../core/channels/credentials";
import type { Keyring } from "../../../core/crypto/secrets";
import { usageMonth } from "../../../core/engine/budget";
import type { MemoryMessage } from "../../../core/engine/memory";
import type { InboundChatMessage } from "../../../core/queue/inbound-message";
import { readTenantSettings, type TenantSettings } from "../../../core/tenants/settings";
import type { TenantBilling } from "../../../core/billing/plans";
import type { Transaction } from "../../../db/client";
import {
  agents,
  agentVersions,
  channels,
  conversations,
  messages,
  tenants,
  usageMonthConversations,
  usageMonths,
  type Channel,
  type Conversation,
  type Message,
} from "../../../db/schema";
import { UnprocessableMessageError } from "../turn-errors";
import { agentColumns, storedVersionConfig } from "../../../core/agents/records";

type Agent = typeof agents.$inferSelect;

/**
 * The channel a turn runs on, read once per turn: its row, its agent, and its credentials opened
 * at most once (on first use, by media resolution or the sender).
 */
export interface TurnChannel {
  channel: Channel;
  agent: Agent;
  /** The tenant asked to be deleted (`DELETE /v1/tenant`): none of its messages is answered or stored. */
  tenantStopped?: boolean;
  credentials(): Promise<Record<string, string> | undefined>;
}

/** An earlier message of the conversation as the context read returns it: id, direction, content, created at (ISO). */
type EarlierRow = [id: string, direction: string, content: string, createdAt: string];

/** Everything a turn decides its reply from, read in one tenant-scoped transaction. */
export interface InboundContext extends TurnChannel {
  conversation: Conversation;
  inbound: Message;
  reply: Message | undefined;
  history: MemoryMessage[];
  settings: TenantSettings;
  spentNanoUsd: number;
  /** The tenant's plan as its row says (the pool applies the plans in its configuration). */
  billing: TenantBilling;
  /**
   * This month so far: model tokens, conversations answered, and whether this conversation is one
   * of them (it may go on once the conversations are used up; new ones may not).
   */
  month: { tokens: number; conversations: number; counted: boolean };
}

/** Reads the channel and its agent (row-level security scopes it: another tenant's channel is not found). */
export async function readTurnChannel(
  tx: Transaction,
  keyring: Keyring,
  message: Pick<InboundChatMessage, "tenantId" | "channelId" | "channelKind" | "agentVersion">,
): Promise<TurnChannel> {
  // The channel, its tenant's deletion mark and its agent in one statement.
  const [found] = await tx
    .select({ channel: channels, stoppedAt: tenants.deletionRequestedAt, agent: agents })
    .from(channels)
    .innerJoin(tenants, eq(tenants.id, channels.tenantId))
    .leftJoin(agents, and(eq(agents.tenantId, channels.tenantId), eq(agents.id, channels.agentId)))
    .where(and(eq(channels.tenantId, message.tenantId), eq(channels.id, message.channelId)));
  if (!found) throw new UnprocessableMessageError("channel not found for this tenant");
  const { channel, agent } = found;
  if (channel.kind !== message.channelKind) throw new UnprocessableMessageError("channel kind does not match the message");
  if (!agent) throw new UnprocessableMessageError("the channel's agent no longer exists");
  const answering = await answeringVersion(tx, agent, message.agentVersion ?? "published");
  let opened: Promise<Record<string, string> | undefined> | undefined;
  return {
    channel,
    agent: answering,
    tenantStopped: found.stoppedAt !== null,
    credentials: () => (opened ??= openChannelCredentials(keyring, channel)),
  };
}

/**
 * The agent as it answers: the published version's configuration, unless the message asks for the
 * draft (the console's playground and test runs). The row's columns hold the draft; a published
 * version behind it is read from `agent_versions`. `currentVersion` becomes the version answering,
 * which the turn records.
 */
export async function answeringVersion(tx: Transaction, agent: Agent, which: "draft" | "published"): Promise<Agent> {
  if (which === "draft" || agent.publishedVersion === agent.currentVersion) return agent;
  const [published] = await tx
    .select({ config: agentVersions.config })
    .from(agentVersions)
    .where(
      and(
        eq(agentVersions.tenantId, agent.tenantId),
        eq(agentVersions.agentId, agent.id),
        eq(agentVersions.version, agent.publishedVersion),
      ),
    );
  if (!published) throw new UnprocessableMessageError("the agent's published version no longer exists");
  return { ...agent, ...agentColumns(storedVersionConfig(published.config)), currentVersion: agent.publishedVersion };
}

/** Why a message is not the bot's business: it is acknowledged, not stored, not answered. */
export type NotAddressed = "wrong_account" | "not_addressed" | "tenant_deleted";

/**
 * Whether the message is this channel's to answer: addressed to its account (WhatsApp's phone
 * number id) and, in group chats, to the bot. Checked before anything else is done for it (no media
 * lookup, nothing stored).
 */
export function notAddressed(on: TurnChannel, message: InboundChatMessage): NotAddressed | undefined {
  if (on.tenantStopped) return "tenant_deleted";
  const channelSettings = readChannelSettings(on.channel.config);
  if (!addressedToChannel(message, channelSettings)) return "wrong_account";
  // Group chats: only messages that mention or reply to the bot are the bot's business.
  if (!addressedToBot(message, channelSettings)) return "not_addressed";
  return undefined;
}

/** Stores a new inbound message (once per channel and provider id) and reads the turn's context. */
export async function recordInbound(
  tx: Transaction,
  on: TurnChannel,
  message: InboundChatMessage,
  now: Date,
): Promise<InboundContext | NotAddressed> {
  const { channel, agent } = on;
  const refused = notAddressed(on, message);
  if (refused) return refused;
  const channelSettings = readChannelSettings(channel.config);

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
      // An email's subject and thread ids stay with it: the reply threads from them (core/channels/email/sender.ts).
      sender: {
        id: message.sender.id,
        name: message.sender.displayName,
        username: message.sender.username,
        ...(message.email ? { email: message.email } : {}),
        ...(message.replyUrl ? { replyUrl: message.replyUrl } : {}),
      },
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
  return readContext(tx, on, conversation!, inbound, { firstDelivery: Boolean(inserted), now });
}

/**
 * The context of an inbound message already stored (the latest of a merged burst), read without
 * storing anything: the flush answers it with the same steps as a new message's turn.
 */
export async function storedContext(
  tx: Transaction,
  on: TurnChannel,
  conversation: Conversation,
  inbound: Message,
  now: Date,
): Promise<InboundContext> {
  return readContext(tx, on, conversation, inbound, { firstDelivery: false, now });
}

async function readContext(
  tx: Transaction,
  on: TurnChannel,
  conversation: Conversation,
  inbound: Message,
  options: { firstDelivery: boolean; now: Date },
): Promise<InboundContext> {
  const tenantId = on.channel.tenantId;
  // Memory: what came after the summary and after any reset, before this message. Bounded at two
  // windows: if summarising keeps failing, the oldest unsummarised messages drop out first.
  const earlier = tx
    .select({ id: messages.id, direction: messages.direction, content: messages.content, createdAt: messages.createdAt })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, tenantId),
        eq(messages.conversationId, inbound.conversationId),
        sql`${messages.createdAt} < (select m.created_at from messages m where m.id = ${inbound.id})`,
        sql`${messages.createdAt} > coalesce((select greatest(c.reset_at, c.summary_through) from conversations c where c.id = ${conversation.id}), '-infinity'::timestamptz)`,
        inArray(messages.status, ["received", "sent"]),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(on.agent.memoryWindow * 2 + 2)
    .as("earlier");
  // Read in the same statement as the tenant's settings and plan and the month's running totals
  // (budget and plan usage), as one JSON array, oldest first.
  const month = usageMonth(options.now);
  const [tenant] = await tx
    .select({
      settings: tenants.settings,
      plan: tenants.plan,
      customLimits: tenants.planLimits,
      subscriptionStatus: tenants.subscriptionStatus,
      paymentFailedAt: tenants.paymentFailedAt,
      spentNanoUsd: usageMonths.costNanoUsd,
      tokens: usageMonths.tokens,
      conversations: usageMonths.conversations,
      counted: sql<boolean>`exists (select 1 from ${usageMonthConversations} where ${usageMonthConversations.tenantId} = ${tenantId}
        and ${usageMonthConversations.month} = ${month} and ${usageMonthConversations.conversationId} = ${conversation.id})`,
      earlier: sql<
        EarlierRow[]
      >`(select coalesce(json_agg(json_build_array(${earlier.id}, ${earlier.direction}, ${earlier.content}, ${earlier.createdAt}) order by ${earlier.createdAt}), '[]') from ${earlier})`,
    })
    .from(tenants)
    .leftJoin(usageMonths, and(eq(usageMonths.tenantId, tenants.id), eq(usageMonths.month, month)))
    .where(eq(tenants.id, tenantId));
  const settings = readTenantSettings(tenant?.settings);
  const history = (tenant?.earlier ?? []).map(([id, direction, content, createdAt]): MemoryMessage => ({
    id,
    role: direction === "inbound" ? "user" : "assistant",
    content,
    createdAt: new Date(createdAt),
  }));

  const [reply] = options.firstDelivery
    ? []
    : await tx
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, tenantId), eq(messages.replyToMessageId, inbound.id)));

  return {
    ...on,
    conversation,
    inbound,
    reply,
    history,
    settings,
    spentNanoUsd: Number(tenant?.spentNanoUsd ?? 0),
    billing: {
      plan: tenant?.plan ?? "free",
      customLimits: tenant?.customLimits ?? null,
      subscriptionStatus: tenant?.subscriptionStatus ?? null,
      paymentFailedAt: tenant?.paymentFailedAt ?? null,
    },
    month: {
      tokens: Number(tenant?.tokens ?? 0),
      conversations: Number(tenant?.conversations ?? 0),
      counted: tenant?.counted === true,
    },
  };
}
