import type { ChannelKind } from "../../db/schema";
import { PermanentSendError, type ChannelAdapter } from "./adapter";
import { emailAdapter } from "./email/adapter";
import { smsAdapter } from "./sms/adapter";
import { voiceAdapter } from "./voice/adapter";
import { telegramAdapter } from "./telegram/adapter";
import { webchatAdapter } from "./webchat/adapter";
import { whatsappAdapter } from "./whatsapp/adapter";

/**
 * The one place channel kinds are registered: the edge's webhook intake, the pool's sender and
 * media resolution, and the channel settings all look the adapter up here. A new channel adds its
 * folder under `core/channels/<kind>/` and one line below.
 */
const adapters: Partial<Record<ChannelKind, ChannelAdapter>> = {
  telegram: telegramAdapter,
  whatsapp: whatsappAdapter,
  webchat: webchatAdapter,
  email: emailAdapter,
  sms: smsAdapter,
  voice: voiceAdapter,
};

/** The adapter of a kind, or undefined for a kind without one yet. */
export function channelAdapter(kind: string): ChannelAdapter | undefined {
  return Object.hasOwn(adapters, kind) ? adapters[kind as ChannelKind] : undefined;
}

/** Every registered adapter, in registration order. */
export function channelAdapters(): ChannelAdapter[] {
  return Object.values(adapters);
}

/** Adapters that receive provider webhooks, with their path segment (`/webhooks/<route>/...`: the kind, or the adapter's `webhookRoute`). */
export function webhookRoutes(): Array<{ route: string; adapter: ChannelAdapter }> {
  return channelAdapters()
    .filter((adapter) => adapter.webhook)
    .map((adapter) => ({ route: adapter.webhookRoute ?? adapter.kind, adapter }));
}

/** The sender of a kind; a kind with no adapter fails its replies permanently, with the reason. */
export function senderFor(kind: ChannelKind, deps: Parameters<ChannelAdapter["sender"]>[0]) {
  const adapter = channelAdapter(kind);
  if (adapter) return adapter.sender(deps);
  return {
    send: () => Promise.reject(new PermanentSendError(`sending on ${kind} channels is not supported yet`)),
  };
}
