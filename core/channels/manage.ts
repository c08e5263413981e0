import { and, eq, isNull, sql } from "drizzle-orm";
import { agents, channels, type Channel } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { openCredentials, sealCredentials, type Keyring } from "../crypto/secrets";
import { formatChannelAddress } from "./address";
import { channelSecretContext } from "./credentials";
import { readChannelSettings } from "./config";
import { channelAdapter } from "./registry";
import type { ChannelDto, ChannelTestResult, ConnectChannelInput, UpdateChannelInput } from "./schemas";
import { TelegramApiError, TelegramBotApi } from "./telegram/bot-api";
import { TELEGRAM_ALLOWED_UPDATES } from "./telegram/update";
import { telegramWebhookSecret } from "./telegram/webhook-secret";
import { GraphApiError, WhatsAppGraphApi } from "./whatsapp/graph-api";
import { whatsappVerifyToken } from "./whatsapp/signature";
import { DomainError, issueDetails, NotFoundError } from "../errors";

/** What the channel verbs need besides the caller: keys and the providers' and our own base URLs. */
export interface ChannelEnvironment {
  keyring: Keyring;
  /** WEBHOOK_SIGNING_KEY: derives Telegram's secret token and WhatsApp's verify token per channel. */
  signingKey: string;
  telegramApiBase: string;
  whatsappApiBase: string;
  /** Our public base URL, e.g. https://api.example.com: webhooks and the widget are under it. */
  publicBaseUrl: string;
  fetch?: typeof fetch;
}

type Ctx = AccessContext;

/**
 * The channel verbs (`/v1/channels`). Credentials are sealed with `channel:<id>` as associated
 * data and never returned. Connecting Telegram checks the token (`getMe`) and registers the webhook
 * (`setWebhook` with the channel's derived secret and the allowed update kinds); WhatsApp checks
 * the phone number with the access token. These provider calls run inside the verb's transaction,
 * so a refused token leaves nothing behind.
 */
export function channelVerbs(env: ChannelEnvironment) {
  const base = env.publicBaseUrl.replace(/\/+$/, "");
  const secretContext = channelSecretContext;
  const telegram = (token: string) =>
    new TelegramBotApi({ apiBase: env.telegramApiBase, token, ...(env.fetch ? { fetch: env.fetch } : {}) });
  const graph = (accessToken: string) =>
    new WhatsAppGraphApi({ apiBase: env.whatsappApiBase, accessToken, ...(env.fetch ? { fetch: env.fetch } : {}) });

  async function toDto(channel: Channel): Promise<ChannelDto> {
    const address = { tenantId: channel.tenantId, channelId: channel.id };
    const formatted = formatChannelAddress(address);
    const webhookUrl = channel.kind === "telegram" || channel.kind === "whatsapp" ? `${base}/webhooks/${channel.kind}/${formatted}` : null;
    return {
      id: channel.id,
      agentId: channel.agentId,
      kind: channel.kind,
      name: channel.name,
      status: channel.status,
      settings: channel.config,
      hasCredentials: Boolean(channel.credentials),
      address: formatted,
      webhookUrl,
      verifyToken: channel.kind === "whatsapp" ? await whatsappVerifyToken(env.signingKey, address) : null,
      embedSnippet:
        channel.kind === "webchat" ? `<script src="${base}/webchat/widget.js" data-channel="${formatted}" async></script>` : null,
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

  /** Checks the token and points the bot's webhook at this channel; answers what we store about the bot. */
  async function registerTelegram(
    channel: Pick<Channel, "tenantId" | "id">,
    botToken: string,
  ): Promise<{ botId: number; botUsername?: string }> {
    const api = telegram(botToken);
    const address = { tenantId: channel.tenantId, channelId: channel.id };
    try {
      const me = await api.getMe();
      await api.setWebhook({
        url: `${base}/webhooks/telegram/${formatChannelAddress(address)}`,
        secretToken: await telegramWebhookSecret(env.signingKey, address),
        allowedUpdates: TELEGRAM_ALLOWED_UPDATES,
      });
      return { botId: me.id, ...(me.username ? { botUsername: me.username } : {}) };
    } catch (error) {
      throw providerRefused("Telegram", error);
    }
  }

  async function checkWhatsApp(accessToken: string, phoneNumberId: string): Promise<void> {
    try {
      await graph(accessToken).getPhoneNumber(phoneNumberId);
    } catch (error) {
      throw providerRefused("WhatsApp", error);
    }
  }

  async function list({ ctx, input }: { ctx: Ctx; input: PageInput }): Promise<Page<ChannelDto>> {
    requirePermission(ctx, "channels:read");
    const page = keyset(channels, input);
    const rows = await ctx.tx
      .select({ channel: channels, id: channels.id, cursorAt: page.cursorColumn })
      .from(channels)
      .where(and(eq(channels.tenantId, ctx.tenantId), page.after))
      .orderBy(...page.orderBy)
      .limit(page.fetch);
    const { data, nextCursor } = page.page(rows, (row) => row.channel);
    return { data: await Promise.all(data.map(toDto)), nextCursor };
  }

  async function get({ ctx, input }: { ctx: Ctx; input: { channelId: string } }): Promise<ChannelDto> {
    requirePermission(ctx, "channels:read");
    return toDto(await findChannel(ctx, input.channelId));
  }

  async function connect({ ctx, input }: { ctx: Ctx; input: ConnectChannelInput }): Promise<ChannelDto> {
    requirePermission(ctx, "channels:write");
    await requireAgent(ctx, input.agentId);
    const id = crypto.randomUUID();
    const target = { tenantId: ctx.tenantId, id };
    let config: Record<string, unknown> = { ...(input.settings ?? {}) };
    let credentials: string | null = null;
    if (input.kind === "telegram") {
      config = { ...config, ...(await registerTelegram(target, input.botToken)) };
      credentials = await sealCredentials(env.keyring, secretContext(target), { botToken: input.botToken });
    } else if (input.kind === "whatsapp") {
      await checkWhatsApp(input.accessToken, input.settings.phoneNumberId);
      credentials = await sealCredentials(env.keyring, secretContext(target), { accessToken: input.accessToken });
    }
    const [created] = await ctx.tx
      .insert(channels)
      .values({ id, tenantId: ctx.tenantId, agentId: input.agentId, kind: input.kind, name: input.name, config, credentials })
      .returning();
    const dto = await toDto(created!);
    await recordAudit(ctx, { action: "channel.connect", resourceType: "channel", resourceId: id, after: dto });
    return dto;
  }

  async function update({ ctx, input }: { ctx: Ctx; input: UpdateChannelInput & { channelId: string } }): Promise<ChannelDto> {
    requirePermission(ctx, "channels:write");
    const current = await findChannel(ctx, input.channelId, true);
    const before = await toDto(current);
    if (input.agentId) await requireAgent(ctx, input.agentId);
    if (input.botToken && current.kind !== "telegram") throw invalid("botToken is for Telegram channels");
    if (input.accessToken && current.kind !== "whatsapp") throw invalid("accessToken is for WhatsApp channels");

    const facts = { botId: current.config.botId, botUsername: current.config.botUsername };
    let config = current.config;
    if (input.settings) {
      const parsed = channelAdapter(current.kind)?.settings.safeParse(input.settings);
      if (!parsed?.success) {
        throw new DomainError(
          "INVALID_SETTINGS",
          400,
          `The settings are not valid for a ${current.kind} channel.`,
          parsed && issueDetails(parsed.error.issues),
        );
      }
      config = { ...parsed.data, ...(current.kind === "telegram" ? stripUndefined(facts) : {}) };
    }
    let credentials = current.credentials;
    if (input.botToken) {
      config = { ...config, ...(await registerTelegram(current, input.botToken)) };
      credentials = await sealCredentials(env.keyring, secretContext(current), { botToken: input.botToken });
    }
    if (input.accessToken || (current.kind === "whatsapp" && input.settings)) {
      const accessToken = input.accessToken ?? (await openStored<{ accessToken: string }>(current))?.accessToken;
      const phoneNumberId = readChannelSettings(config).phoneNumberId;
      if (accessToken && phoneNumberId) await checkWhatsApp(accessToken, phoneNumberId);
      if (input.accessToken) credentials = await sealCredentials(env.keyring, secretContext(current), { accessToken: input.accessToken });
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
    const after = await toDto(updated!);
    await recordAudit(ctx, {
      action: "channel.update",
      resourceType: "channel",
      resourceId: current.id,
      before,
      after: { ...after, credentialsReplaced: Boolean(input.botToken || input.accessToken) },
    });
    return after;
  }

  async function setStatus(ctx: Ctx, channelId: string, status: "active" | "paused"): Promise<ChannelDto> {
    requirePermission(ctx, "channels:write");
    const current = await findChannel(ctx, channelId, true);
    const [updated] = await ctx.tx
      .update(channels)
      .set({ status, updatedAt: sql`now()` })
      .where(and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, current.id)))
      .returning();
    const after = await toDto(updated!);
    await recordAudit(ctx, {
      action: status === "paused" ? "channel.pause" : "channel.resume",
      resourceType: "channel",
      resourceId: current.id,
      before: await toDto(current),
      after,
    });
    return after;
  }

  async function test({ ctx, input }: { ctx: Ctx; input: { channelId: string } }): Promise<ChannelTestResult> {
    requirePermission(ctx, "channels:write");
    const channel = await findChannel(ctx, input.channelId);
    const checks: ChannelTestResult["checks"] = [];
    const check = async (name: string, work: () => Promise<string>) => {
      try {
        checks.push({ name, ok: true, detail: await work() });
      } catch (error) {
        checks.push({ name, ok: false, detail: describeProviderError(error) });
      }
    };
    const address = formatChannelAddress({ tenantId: channel.tenantId, channelId: channel.id });
    if (channel.kind === "telegram") {
      const stored = await openStored<{ botToken: string }>(channel);
      if (!stored) checks.push({ name: "credentials", ok: false, detail: "no readable bot token is stored" });
      else {
        const api = telegram(stored.botToken);
        await check("token", async () => `bot @${(await api.getMe()).username ?? "?"}`);
        await check("webhook", async () => {
          const info = await api.getWebhookInfo();
          if (!info.url.endsWith(`/webhooks/telegram/${address}`))
            throw new Error("the bot's webhook points elsewhere; update the channel's token to register it again");
          return `registered, ${info.pending_update_count} pending update(s)${info.last_error_message ? `, last error: ${info.last_error_message}` : ""}`;
        });
      }
    } else if (channel.kind === "whatsapp") {
      const stored = await openStored<{ accessToken: string }>(channel);
      const phoneNumberId = readChannelSettings(channel.config).phoneNumberId;
      if (!stored || !phoneNumberId)
        checks.push({ name: "credentials", ok: false, detail: "no readable access token or phone number id is stored" });
      else
        await check("phone number", async () => {
          const number = await graph(stored.accessToken).getPhoneNumber(phoneNumberId);
          return `${number.display_phone_number ?? number.id}${number.verified_name ? ` (${number.verified_name})` : ""}`;
        });
    } else if (channel.kind === "webchat") {
      const origins = readChannelSettings(channel.config).allowedOrigins ?? [];
      checks.push({
        name: "allowed origins",
        ok: origins.length > 0,
        detail: origins.length ? origins.join(", ") : "no allowed origins: the widget cannot start sessions",
      });
    }
    if (channel.status === "paused")
      checks.push({ name: "status", ok: false, detail: "the channel is paused: messages are stored but not answered" });
    return { ok: checks.every((c) => c.ok), checks };
  }

  async function remove({ ctx, input }: { ctx: Ctx; input: { channelId: string } }): Promise<{ webhookRemoved: boolean | null }> {
    requirePermission(ctx, "channels:delete");
    const current = await findChannel(ctx, input.channelId, true);
    let webhookRemoved: boolean | null = null;
    if (current.kind === "telegram") {
      // Best effort: a revoked token must not keep a channel from being removed.
      const stored = await openStored<{ botToken: string }>(current);
      webhookRemoved = stored
        ? await telegram(stored.botToken)
            .deleteWebhook()
            .then(
              () => true,
              () => false,
            )
        : false;
    }
    await ctx.tx.delete(channels).where(and(eq(channels.tenantId, ctx.tenantId), eq(channels.id, current.id)));
    await recordAudit(ctx, {
      action: "channel.remove",
      resourceType: "channel",
      resourceId: current.id,
      before: await toDto(current),
      after: { webhookRemoved },
    });
    return { webhookRemoved };
  }

  async function openStored<T>(channel: Channel): Promise<T | undefined> {
    if (!channel.credentials) return undefined;
    return openCredentials<T>(env.keyring, secretContext(channel), channel.credentials).catch(() => undefined);
  }

  return {
    list,
    get,
    connect,
    update,
    test,
    remove,
    pause: ({ ctx, input }: { ctx: Ctx; input: { channelId: string } }) => setStatus(ctx, input.channelId, "paused"),
    resume: ({ ctx, input }: { ctx: Ctx; input: { channelId: string } }) => setStatus(ctx, input.channelId, "active"),
  };
}

function invalid(message: string): DomainError {
  return new DomainError("INVALID_CREDENTIALS_FIELD", 400, message);
}

function stripUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined));
}

/** The provider's own words (never a URL, which for Telegram holds the token). */
function describeProviderError(error: unknown): string {
  if (error instanceof TelegramApiError) return `Telegram answered ${error.status}: ${error.description}`.slice(0, 300);
  if (error instanceof GraphApiError)
    return `WhatsApp answered ${error.status}${error.errorCode ? ` (${error.errorCode})` : ""}: ${error.description}`.slice(0, 300);
  return error instanceof Error ? error.message.slice(0, 300) : "unknown error";
}

function providerRefused(provider: string, error: unknown): DomainError {
  return new DomainError("CHANNEL_PROVIDER_REFUSED", 422, `${provider} refused the channel's credentials or settings.`, {
    provider: describeProviderError(error),
  });
}
