import { and, desc, eq, inArray, isNull, or, sql } from "drizzle-orm";
import { requireModule, requireWithinPlan } from "../billing/limits";
import { agents, channels, messages, type Channel } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { sealCredentials, type Keyring } from "../crypto/secrets";
import { DomainError, issueDetails, NotFoundError, UnavailableError } from "../errors";
import type { ChannelAdapter, ChannelLink } from "./adapter";
import { formatChannelAddress } from "./address";
import { providerWords } from "./checks";
import { channelSecretContext, openChannelCredentials, sealWebhookSecret } from "./credentials";
import { channelAdapter, channelAdapters } from "./registry";
import type { ChannelDto, ChannelTestResult, ConnectChannelInput, UpdateChannelInput } from "./schemas";
import type { TemplateSummary } from "./whatsapp/templates";

/**
 * The channel verbs (`/v1/channels`; one cohesive file: the verbs and the helpers only they use),
 * each `({ ctx, input })`, the same for every kind: what differs
 * per provider is the kind's adapter's `connection` (core/channels/<kind>/connection.ts).
 * Credentials are sealed with `channel:<id>` as associated data and never returned. The provider
 * calls (checking a token, registering a webhook) run inside the verb's transaction, so a refused
 * token leaves nothing behind.
 */
type Ctx = AccessContext;

export async function listChannels({ ctx, input }: { ctx: Ctx; input: PageInput }): Promise<Page<ChannelDto>> {
  requirePermission(ctx, "channels:read");
  const env = environmentOf(ctx);
  const page = keyset(channels, input);
  const rows = await ctx.tx
    .select({ channel: channels, id: channels.id, cursorAt: page.cursorColumn })
    .from(channels)
    .where(and(eq(channels.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  const { data, nextCursor } = page.page(rows, (row) => row.channel);
  const errors = await lastErrorsOf(
    ctx,
    data.map((channel) => channel.id),
  );
  return { data: await Promise.all(data.map((channel) => toDto(env, channel, errors.get(channel.id)))), nextCursor };
}

export async function getChannel({ ctx, input }: { ctx: Ctx; input: { channelId: string } }): Promise<ChannelDto> {
  requirePermission(ctx, "channels:read");
  const channel = await findChannel(ctx, input.channelId);
  return toDto(environmentOf(ctx), channel, (await lastErrorsOf(ctx, [channel.id])).get(channel.id));
}

export async function connectChannel({ ctx, input }: { ctx: Ctx; input: ConnectChannelInput }): Promise<ChannelDto> {
  requirePermission(ctx, "channels:write");
  const env = environmentOf(ctx);
  const adapter = adapterOf(input.kind);
  await requireAgent(ctx, input.agentId);
  // Before the provider is called: a refused channel leaves nothing set up there.
  await requireWithinPlan(ctx, "channels");
  if (adapter.kind === "voice") await requireModule(ctx, "voice");
  const id = crypto.randomUUID();
  const target = { tenantId: ctx.tenantId, id };
  const secrets = pickCredentials(adapter, input);
  const settings = { ...(input.settings ?? {}) };
  const facts = await refusedUnlessAccepted(adapter, () =>
    adapter.connection.connect(linkOf(env, target, adapter.kind), secrets, settings),
  );
  const credentials = adapter.connection.credentialFields.length
    ? await sealCredentials(env.keyring, channelSecretContext(target), secrets)
    : null;
  const [created] = await ctx.tx
    .insert(channels)
    .values({
      id,
      tenantId: ctx.tenantId,
      agentId: input.agentId,
      kind: adapter.kind,
      name: input.name,
      config: { ...settings, ...facts },
      credentials,
    })
    .returning();
  const dto = await toDto(env, created!);
  await recordAudit(ctx, { action: "channel.connect", resourceType: "channel", resourceId: id, after: dto });
  return dto;
}

export async function updateChannel({ ctx, input }: { ctx: Ctx; input: UpdateChannelInput & { channelId: string } }): Promise<ChannelDto> {
  requirePermission(ctx, "channels:write");
  const env = environmentOf(ctx);
  const current = await findChannel(ctx, input.channelId, true);
  const adapter = adapterOf(current.kind);
  const before = await toDto(env, current);
  if (input.agentId) await requireAgent(ctx, input.agentId);
  for (const field of credentialFieldsOfAnyKind()) {
    if (input[field] !== undefined && !adapter.connection.credentialFields.includes(field)) {
      throw new DomainError("INVALID_CREDENTIALS_FIELD", 400, `${field} is for ${kindsWithField(field)} channels`);
    }
  }

  let config = current.config;
  if (input.settings) {
    const parsed = adapter.settings.safeParse(input.settings);
    if (!parsed.success) {
      throw new DomainError(
        "INVALID_SETTINGS",
        400,
        `The settings are not valid for a ${current.kind} channel.`,
        issueDetails(parsed.error.issues),
      );
    }
    const kept = Object.fromEntries(
      (adapter.connection.keptFacts ?? []).flatMap((fact) => (current.config[fact] === undefined ? [] : [[fact, current.config[fact]]])),
    );
    config = { ...parsed.data, ...kept };
  }
  const replaced = adapter.connection.credentialFields.some((field) => input[field] !== undefined);
  let credentials = current.credentials;
  if (replaced || (input.settings && adapter.connection.recheckSettings)) {
    const secrets = replaced ? pickCredentials(adapter, input) : await openStored(env.keyring, current);
    if (secrets) {
      const facts = await refusedUnlessAccepted(adapter, () =>
        adapter.connection.connect(linkOf(env, current, adapter.kind), secrets, config),
      );
      config = { ...config, ...facts };
    }
    if (replaced && secrets) credentials = await sealCredentials(env.keyring, channelSecretContext(current), secrets);
  }
  const [updated] = await ctx.tx
    .update(channels)
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.agentId ? { agentId: input.agentId } : {}),
      config,
      credentials,
      updatedAt: sql`now()`,
    })
    .where(and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, current.id)))
    .returning();
  const after = await toDto(env, updated!);
  await recordAudit(ctx, {
    action: "channel.update",
    resourceType: "channel",
    resourceId: current.id,
    before,
    after: { ...after, credentialsReplaced: replaced },
  });
  return { ...after, lastError: (await lastErrorsOf(ctx, [current.id])).get(current.id) ?? null };
}

export async function testChannel({ ctx, input }: { ctx: Ctx; input: { channelId: string } }): Promise<ChannelTestResult> {
  requirePermission(ctx, "channels:write");
  const env = environmentOf(ctx);
  const channel = await findChannel(ctx, input.channelId);
  const adapter = adapterOf(channel.kind);
  const checks = await adapter.connection.check(linkOf(env, channel, adapter.kind), await openStored(env.keyring, channel), channel.config);
  if (channel.status === "paused")
    checks.push({ name: "status", ok: false, detail: "the channel is paused: messages are stored but not answered" });
  return { ok: checks.every((c) => c.ok), checks };
}

/**
 * The channel's message templates as the provider holds them now (WhatsApp: the Business
 * Account's), with the variables each needs, so the template to send outside the 24-hour window
 * can be chosen and filled in. Read live: there is no copy to go stale.
 */
export async function listChannelTemplates({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { channelId: string };
}): Promise<{ data: TemplateSummary[] }> {
  requirePermission(ctx, "channels:read");
  const env = environmentOf(ctx);
  const channel = await findChannel(ctx, input.channelId);
  const adapter = adapterOf(channel.kind);
  const templates = adapter.connection.templates;
  if (!templates) throw new DomainError("TEMPLATES_UNSUPPORTED", 400, `${adapter.displayName} channels have no message templates.`);
  const credentials = await openStored(env.keyring, channel);
  if (!credentials) throw new DomainError("CHANNEL_PROVIDER_REFUSED", 422, "The channel has no readable credentials.");
  const data = await refusedUnlessAccepted(adapter, () => templates(linkOf(env, channel, adapter.kind), credentials, channel.config));
  return { data };
}

export async function removeChannel({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { channelId: string };
}): Promise<{ webhookRemoved: boolean | null }> {
  requirePermission(ctx, "channels:delete");
  const env = environmentOf(ctx);
  const current = await findChannel(ctx, input.channelId, true);
  const adapter = adapterOf(current.kind);
  let webhookRemoved: boolean | null = null;
  if (adapter.connection.disconnect) {
    // Best effort: a revoked token must not keep a channel from being removed.
    const stored = await openStored(env.keyring, current);
    webhookRemoved = stored ? await adapter.connection.disconnect(linkOf(env, current, adapter.kind), stored, current.config) : false;
  }
  await ctx.tx.delete(channels).where(and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, current.id)));
  await recordAudit(ctx, {
    action: "channel.remove",
    resourceType: "channel",
    resourceId: current.id,
    before: await toDto(env, current),
    after: { webhookRemoved },
  });
  return { webhookRemoved };
}

export const pauseChannel = ({ ctx, input }: { ctx: Ctx; input: { channelId: string } }) => setStatus(ctx, input.channelId, "paused");
export const resumeChannel = ({ ctx, input }: { ctx: Ctx; input: { channelId: string } }) => setStatus(ctx, input.channelId, "active");

async function setStatus(ctx: Ctx, channelId: string, status: "active" | "paused"): Promise<ChannelDto> {
  requirePermission(ctx, "channels:write");
  const env = environmentOf(ctx);
  const current = await findChannel(ctx, channelId, true);
  const [updated] = await ctx.tx
    .update(channels)
    .set({ status, updatedAt: sql`now()` })
    .where(and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, current.id)))
    .returning();
  const after = await toDto(env, updated!);
  await recordAudit(ctx, {
    action: status === "paused" ? "channel.pause" : "channel.resume",
    resourceType: "channel",
    resourceId: current.id,
    before: await toDto(env, current),
    after,
  });
  return { ...after, lastError: (await lastErrorsOf(ctx, [current.id])).get(current.id) ?? null };
}

// ---- helpers ------------------------------------------------------------------------------------

/** What the channel verbs need besides the caller: the keyring, and the providers' and our own base URLs. */
type ChannelEnvironment = NonNullable<NonNullable<AccessContext["services"]>["channels"]> & { keyring: Keyring };

/** From `ctx.services`; without a keyring (or the providers' settings) channels cannot be managed here: 503. */
function environmentOf(ctx: AccessContext): ChannelEnvironment {
  const keyring = ctx.services?.keyring;
  const providers = ctx.services?.channels;
  if (!keyring || !providers) {
    throw new UnavailableError("CHANNELS_UNAVAILABLE", "Channels cannot be managed here: the edge has no SECRETS_KEYRING.");
  }
  return { keyring, ...providers };
}

function adapterOf(kind: string): ChannelAdapter {
  const adapter = channelAdapter(kind);
  if (!adapter) throw new DomainError("UNSUPPORTED_CHANNEL_KIND", 400, `${kind} channels cannot be managed yet.`);
  return adapter;
}

function linkOf(env: ChannelEnvironment, channel: Pick<Channel, "tenantId" | "id">, kind: string): ChannelLink {
  const base = env.publicBaseUrl.replace(/\/+$/, "");
  const address = formatChannelAddress({ tenantId: channel.tenantId, channelId: channel.id });
  return {
    tenantId: channel.tenantId,
    channelId: channel.id,
    address,
    publicBaseUrl: base,
    webhookUrl: `${base}/webhooks/${channelAdapter(kind)?.webhookRoute ?? kind}/${address}`,
    signingKey: env.signingKey,
    emailDomain: env.emailDomain,
    endpoints: { telegramApiBase: env.telegramApiBase, whatsappApiBase: env.whatsappApiBase, twilioApiBase: env.twilioApiBase },
    seal: (secret) => sealWebhookSecret(env.keyring, kind, { tenantId: channel.tenantId, channelId: channel.id }, secret),
    ...(env.fetch ? { fetch: env.fetch } : {}),
  };
}

/**
 * Each channel's newest failure to deliver a reply: a send that failed, or a delivery the provider
 * later reported failed. One query for a page of channels.
 */
async function lastErrorsOf(ctx: Ctx, channelIds: string[]): Promise<Map<string, NonNullable<ChannelDto["lastError"]>>> {
  if (channelIds.length === 0) return new Map();
  const rows = await ctx.tx
    .selectDistinctOn([messages.channelId], {
      channelId: messages.channelId,
      error: messages.error,
      at: messages.createdAt,
      conversationId: messages.conversationId,
    })
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, ctx.tenantId),
        inArray(messages.channelId, channelIds),
        eq(messages.direction, "outbound"),
        or(eq(messages.status, "failed"), eq(messages.deliveryStatus, "failed")),
      ),
    )
    .orderBy(messages.channelId, desc(messages.createdAt));
  return new Map(
    rows.map((row) => [
      row.channelId,
      { message: row.error ?? "The provider reported the delivery failed.", at: iso(row.at)!, conversationId: row.conversationId },
    ]),
  );
}

/** The answer for a channel; `lastError` is looked up by the read verbs ({@link lastErrorsOf}), null in audit records. */
async function toDto(env: ChannelEnvironment, channel: Channel, lastError?: ChannelDto["lastError"]): Promise<ChannelDto> {
  const adapter = channelAdapter(channel.kind);
  const link = linkOf(env, channel, channel.kind);
  const extra = (await adapter?.connection.publicFields?.(link)) ?? {};
  return {
    id: channel.id,
    agentId: channel.agentId,
    kind: channel.kind,
    name: channel.name,
    status: channel.status,
    settings: channel.config,
    hasCredentials: Boolean(channel.credentials),
    address: link.address,
    webhookUrl: extra.webhookUrl ?? (adapter?.webhook ? link.webhookUrl : null),
    verifyToken: extra.verifyToken ?? null,
    embedSnippet: extra.embedSnippet ?? null,
    inboundAddress: extra.inboundAddress ?? null,
    lastError: lastError ?? null,
    createdAt: iso(channel.createdAt)!,
    updatedAt: iso(channel.updatedAt)!,
  };
}

async function findChannel(ctx: Ctx, channelId: string, forUpdate = false): Promise<Channel> {
  const query = ctx.tx
    .select()
    .from(channels)
    .where(and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, channelId)));
  const [channel] = forUpdate ? await query.for("update") : await query;
  if (!channel) throw new NotFoundError("channel");
  return channel;
}

async function requireAgent(ctx: Ctx, agentId: string): Promise<void> {
  const [agent] = await ctx.tx
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.tenantId, ctx.tenantId), eq(agents.id, agentId), isNull(agents.deletedAt)));
  if (!agent) throw new NotFoundError("agent");
}

/** The request's secret fields for this kind, as sealed. */
function pickCredentials(adapter: ChannelAdapter, input: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    adapter.connection.credentialFields.flatMap((field) => (typeof input[field] === "string" ? [[field, input[field]]] : [])),
  );
}

/** The stored credentials, or undefined when there are none or they cannot be opened. */
function openStored(keyring: Keyring, channel: Channel): Promise<Record<string, string> | undefined> {
  return openChannelCredentials(keyring, channel).catch(() => undefined);
}

/** A provider refusing the credentials or settings is the client's problem: 422 with the provider's words. */
async function refusedUnlessAccepted<T>(adapter: ChannelAdapter, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new DomainError("CHANNEL_PROVIDER_REFUSED", 422, `${adapter.displayName} refused the channel's credentials or settings.`, {
      provider: providerWords(adapter.connection.describeError, error),
    });
  }
}

function credentialFieldsOfAnyKind(): string[] {
  return [...new Set(channelAdapters().flatMap((adapter) => adapter.connection.credentialFields))];
}

function kindsWithField(field: string): string {
  return channelAdapters()
    .filter((adapter) => adapter.connection.credentialFields.includes(field))
    .map((adapter) => adapter.displayName)
    .join(" or ");
}
