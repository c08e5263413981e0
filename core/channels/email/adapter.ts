import type { ChannelAdapter } from "../adapter";
import { emailConnection } from "./connection";
import { emailSender } from "./sender";
import { sesWebhook } from "./ses";
import { emailMedia } from "./stored";
import { DEFAULT_REPLIES_PER_HOUR, emailSettings, readEmailSettings } from "./settings";

/**
 * Email: mail arrives through the edge's `email()` handler (Cloudflare Email Routing; locally the
 * stack's SMTP server feeds the same handler) at the channel's inbound address, which names the
 * channel with no database round trip (core/channels/email/address.ts); it is parsed and normalised
 * by core/channels/email/normalize.ts, threaded by core/channels/email/thread.ts, and answered by
 * SMTP from the tenant's own sender. No provider webhook: the handler is the intake.
 */
export const emailAdapter: ChannelAdapter = {
  kind: "email",
  displayName: "Email",
  capabilities: { textLimit: 100_000, buttons: 0, media: false, templates: false, streaming: false, deliveryStatuses: true },
  settings: emailSettings as unknown as ChannelAdapter["settings"],
  webhook: sesWebhook,
  webhookRoute: "ses",
  media: emailMedia,
  connection: emailConnection,
  sender: emailSender,
  endUserIdentity: (sender) => ({ email: sender.id, ...(sender.name ? { name: sender.name } : {}) }),
  // Anyone can write to an address, and mail loops through forwarding rules: a flood from one
  // address costs a bounded number of turns.
  repliesPerSenderPerHour: (settings) => readEmailSettings(settings)?.repliesPerHour ?? DEFAULT_REPLIES_PER_HOUR,
};
