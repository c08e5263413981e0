import type { Keyring } from "../../../core/crypto/secrets";
import type { Logger } from "../../../core/observability/log";
import type { Channel } from "../../../db/schema";

/** One reply, ready to hand to its channel. */
export interface OutboundReply {
  replyId: string;
  channel: Channel;
  /** The chat id, WhatsApp number or web chat session. */
  conversationKey: string;
  text: string;
  /** Parts an earlier attempt delivered already (a split reply interrupted midway): skipped. */
  partsDelivered: number;
  /** The provider's id of the message answered (WhatsApp marks it read). */
  inboundProviderMessageId?: string;
  /** When the person last wrote (WhatsApp's 24-hour customer-service window). */
  lastInboundAt?: Date;
}

export interface SendProgress {
  /** Called after each part is accepted, so a retry never sends it again. */
  onPart(providerMessageId: string): Promise<void>;
}

export interface ChannelSender {
  send(reply: OutboundReply, progress: SendProgress): Promise<void>;
}

export interface SenderDependencies {
  keyring: Keyring;
  telegramApiBase: string;
  whatsappApiBase: string;
  logger: Logger;
  /** Waits (rate-limit back-off); tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
  /** First back-off for WhatsApp rate limits; doubles per attempt. Default 1000 ms. */
  rateLimitBaseMs?: number;
  now?: () => Date;
}

/** The reply can never be delivered as it is: recorded as `failed` with this reason, not retried. */
export class PermanentSendError extends Error {
  readonly code = "SEND_FAILED_PERMANENTLY";
}

/**
 * Still rate limited after the in-place retries: the turn gives the reply back (`pending`) and the
 * consumer retries later. `status` 429 makes it a transient failure for the consumer's gate.
 */
export class RateLimitedError extends Error {
  readonly code = "CHANNEL_RATE_LIMITED";
  readonly status = 429;
}
