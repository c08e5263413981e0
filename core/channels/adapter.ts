import type { z } from "zod";
import type { Logger } from "../observability/log";
import type { Attachment, InboundMessage } from "../queue/inbound-message";
import type { Channel, ChannelKind, MessageSender } from "../../db/schema";
import type { ChannelAddress } from "./address";
import type { Keyring } from "../crypto/secrets";
import type { TemplateSummary } from "./whatsapp/templates";

/**
 * The one interface every channel kind implements (Telegram, WhatsApp, web chat, email, SMS,
 * voice). The edge's webhook intake, the pool's reply sender and media resolution know only
 * this interface; `core/channels/registry.ts` maps a kind to its adapter. Adding a channel is a
 * folder `core/channels/<kind>/` exporting one `ChannelAdapter` plus one line in the registry
 * (see docs/architecture.md, "How to add a channel").
 */
export interface ChannelAdapter {
  kind: ChannelKind;
  /** How people name the provider in messages: "Telegram", "WhatsApp", "Web chat". */
  displayName: string;
  capabilities: ChannelCapabilities;
  /** The channel's own settings (`PATCH /v1/channels/:id` `settings`), validated before they are stored. */
  settings: z.ZodType<Record<string, unknown>>;
  /** Inbound over HTTP webhooks, checked and normalised at the edge with no database; absent for channels with their own routes (web chat). */
  webhook?: ChannelWebhook;
  /** The webhook's path segment, `/webhooks/<route>/<address>`, when it is not the kind (email's provider webhook is Amazon SES's: `ses`). */
  webhookRoute?: string;
  /** Sends one reply within the channel's limits (splitting, buttons, templates, rate limits). */
  sender(deps: SenderDependencies): ChannelSender;
  /** Media that arrive as references and are resolved through the channel's API before the turn. */
  media?: ChannelMedia;
  /** Connecting, checking and removing the channel (`/v1/channels`). */
  connection: ChannelConnection;
  /**
   * What the sender's id on this channel says about the person (a WhatsApp id is their phone
   * number; an email channel's is their address): integration tools look people up by it. Absent:
   * the channel's ids identify nobody outside it (Telegram, web chat).
   */
  endUserIdentity?(sender: { id: string; name?: string | undefined }): EndUserIdentity;
  /**
   * Replies one sender may get per hour on a channel of this kind (its settings say how many): the
   * next message is stored and not answered. Absent: no limit (the provider rate-limits senders).
   */
  repliesPerSenderPerHour?(settings: Record<string, unknown>): number;
  /**
   * A message that is a subscription keyword rather than something to answer (SMS `STOP`,
   * `START`, `HELP`): stored, never answered by the agent. `opt_out` silences the conversation
   * until an `opt_in`. Absent: the channel has no keywords.
   */
  keyword?(text: string): SubscriptionKeyword | undefined;
}

export type SubscriptionKeyword = "opt_out" | "opt_in" | "help";

/** A person as other systems (a CRM, a payment provider) know them. */
export interface EndUserIdentity {
  email?: string;
  phone?: string;
  name?: string;
}

// ---- Management: connect, test, remove (core/channels/manage.ts) -----------------------------

/** One channel as its connection hooks see it. */
export interface ChannelLink {
  tenantId: string;
  channelId: string;
  /** `<tenant>.<channel>`. */
  address: string;
  /** Our public base URL, without a trailing slash. */
  publicBaseUrl: string;
  /** Where this channel's provider webhooks arrive (`<base>/webhooks/<kind>/<address>`). */
  webhookUrl: string;
  /** WEBHOOK_SIGNING_KEY: per-channel secrets derive from it. */
  signingKey: string;
  /** EMAIL_DOMAIN: email channels' inbound addresses are under it; unset, email channels cannot be connected. */
  emailDomain?: string | undefined;
  /**
   * Seals a provider-made secret for this channel's webhook URL (`?s=`, AES-256-GCM under the
   * platform keyring, bound to the tenant and `<kind>-webhook:<channel>`), for a provider that signs
   * webhooks with a secret we cannot choose (Twilio's auth token). The edge opens it with
   * {@link openWebhookSeal}.
   */
  seal(secret: string): Promise<string>;
  endpoints: ChannelEndpoints;
  fetch?: typeof fetch;
}

export interface ChannelCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChannelConnection {
  /** This kind's own fields of `POST /v1/channels` (beside kind, name and agentId): credentials and settings. */
  connectFields: z.ZodRawShape;
  /** The request fields holding secrets: sealed as the channel's credentials, replaced by `PATCH` when sent, never returned. */
  credentialFields: readonly string[];
  /** The channel works without them (an SMTP server that takes mail without a password); otherwise a reply waits until they are stored. */
  credentialsOptional?: boolean;
  /**
   * Checks the credentials with the provider (and registers the webhook where the provider is told
   * one), inside the verb's transaction so a refusal leaves nothing behind; answers the facts stored
   * beside the settings (a bot's id and username). Throws (any error) to refuse.
   */
  connect(link: ChannelLink, credentials: Record<string, string>, settings: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Facts `connect` stores that a settings change keeps. */
  keptFacts?: readonly string[];
  /** A settings change is checked with the provider again, with the stored credentials (WhatsApp's phone number id). */
  recheckSettings?: boolean;
  /** `POST /v1/channels/:id/test`: what works and what does not, in the provider's own words. */
  check(link: ChannelLink, credentials: Record<string, string> | undefined, settings: Record<string, unknown>): Promise<ChannelCheck[]>;
  /** Best effort on removal (Telegram's `deleteWebhook`): whether it worked; absent: nothing to undo. */
  disconnect?(link: ChannelLink, credentials: Record<string, string>, settings: Record<string, unknown>): Promise<boolean>;
  /** What the channel's DTO shows besides the common fields (WhatsApp's verify token, web chat's embed tag). */
  publicFields?(link: ChannelLink): Promise<{ verifyToken?: string; embedSnippet?: string; inboundAddress?: string; webhookUrl?: string }>;
  /** The provider's words for an error of its client (never a URL: Telegram's holds the token). */
  describeError(error: unknown): string | undefined;
  /** The message templates the provider holds for this channel (WhatsApp's, from the Business Account); absent: the kind has none. */
  templates?(link: ChannelLink, credentials: Record<string, string>, settings: Record<string, unknown>): Promise<TemplateSummary[]>;
}

/** What a channel can carry: the engine, the reply sender and the console read these. */
export interface ChannelCapabilities {
  /** The longest text one message may carry; a longer reply is split in parts at word boundaries. */
  textLimit: number;
  /** Reply buttons one message may carry (0: none; choices then stay in the text). */
  buttons: number;
  /** Inbound media (photos, documents, voice) are delivered as references the pool can fetch. */
  media: boolean;
  /** Pre-approved templates for messages outside a service window. */
  templates: boolean;
  /** A reply can be shown while it is being written. */
  streaming: boolean;
  /** The provider reports sent, delivered, read and failed for our messages. */
  deliveryStatuses: boolean;
}

// ---- Inbound: the edge's webhook intake ------------------------------------------------------

/** What the edge knows when a webhook arrives (no database on this path). */
export interface WebhookRequest {
  address: ChannelAddress;
  /** The URL the provider called, as it was given to the provider (our public base, the path and the query). */
  url: string;
  headers: Headers;
  query: URLSearchParams;
  secrets: WebhookSecrets;
}

/** Secrets the edge holds for checking webhooks: per-channel ones are derived from the signing key. */
export interface WebhookSecrets {
  /** WEBHOOK_SIGNING_KEY: per-channel secrets are HMACs of it and the channel address. */
  signingKey: string;
  /** The platform's Meta app secret (WhatsApp's `X-Hub-Signature-256`); unset: WhatsApp webhooks answer 503. */
  whatsappAppSecret?: string | undefined;
  /** The platform keyring: opens provider-made webhook secrets sealed into their URLs (Stripe's). */
  keyring?: Keyring | undefined;
  /** Tests only: where the loopback SNS fake's certificates and confirmations are, instead of `https://sns.<region>.amazonaws.com`. */
  snsTrustedBase?: string | undefined;
}

/** A refusal: 400 for a bad signature where the provider expects it (Stripe), 401/403 for a missing or wrong secret. */
export type Verification = { ok: true } | { ok: false; status: 400 | 401 | 403 | 503; reason: string; message: string };

/** A payload turned into queue messages, in the provider's order, and the reasons for what was left out. */
export interface NormalizedPayload {
  messages: InboundMessage[];
  ignored: string[];
}

export interface ChannelWebhook {
  /** Checked before the body is read (a secret header), so a stranger cannot make us read 1 MiB. */
  verifyRequest?(request: WebhookRequest): Promise<Verification>;
  /** Checked against the body's bytes as received (a signature over the raw body). */
  verifyBody?(request: WebhookRequest, rawBody: Uint8Array): Promise<Verification>;
  /** How the body is encoded: JSON (the default) or an HTML form (Twilio), read as one string per field. */
  format?: "json" | "form";
  /** The provider's payload schema; a body that fails it answers 400 `INVALID_BODY`, naming the fields. */
  payload: z.ZodType;
  /** How the 400 names the payload: "a Telegram update". */
  payloadName: string;
  normalize(
    address: ChannelAddress,
    payload: never,
    receivedAt: Date,
    request: WebhookRequest,
  ): NormalizedPayload | Promise<NormalizedPayload>;
  /**
   * The 200 body the provider gets back (providers differ; none retries on a 200): JSON, or a
   * whole response (Twilio's TwiML, which for a call says how to answer it).
   */
  acknowledge(
    result: NormalizedPayload,
    received: { request: WebhookRequest; payload: never },
  ): Record<string, unknown> | Response | Promise<Response>;
  /** A `GET` on the webhook URL (Meta's `hub.challenge` handshake); absent: 404. */
  handshake?(request: WebhookRequest): Promise<{ status: 200 | 403; text: string }>;
}

// ---- Outbound: the pool's reply sender ------------------------------------------------------

/** One reply, ready to hand to its channel. */
export interface OutboundReply {
  replyId: string;
  channel: Channel;
  /** The channel's credentials, opened once per turn by the caller; undefined when it has none. */
  credentials: Record<string, string> | undefined;
  /** The chat id, WhatsApp number or web chat session. */
  conversationKey: string;
  text: string;
  /** Parts an earlier attempt delivered already (a split reply interrupted midway): skipped. */
  partsDelivered: number;
  /** The provider's id of the message answered (WhatsApp marks it read). */
  inboundProviderMessageId?: string;
  /**
   * Who wrote the message answered, as stored with it (an email's address, subject and thread ids);
   * for a message with no inbound one (an operator's), the conversation's latest.
   */
  inboundSender?: MessageSender;
  /** When the person last wrote (WhatsApp's 24-hour customer-service window). */
  lastInboundAt?: Date;
  /** The conversation is handed to a person with this reply (a voice call is transferred after it). */
  handoff?: boolean;
}

export interface SendProgress {
  /**
   * Called after each part is accepted, so a retry never sends it again. `last`: no part follows,
   * so the pool records this one with the reply's final status instead of in a write of its own.
   */
  onPart(providerMessageId: string, part: { last: boolean }): Promise<void>;
}

export interface ChannelSender {
  send(reply: OutboundReply, progress: SendProgress): Promise<void>;
}

export interface SenderDependencies extends ChannelEndpoints {
  logger: Logger;
  /** Waits (rate-limit back-off); tests shorten it. */
  sleep: (ms: number) => Promise<void>;
  /** First back-off for WhatsApp rate limits; doubles per attempt. Default 1000 ms. */
  rateLimitBaseMs?: number;
  now?: () => Date;
  /** Sends one email over the channel's SMTP server (the pool's, with the SSRF checks) or Amazon SES; absent: email replies fail with the reason. */
  sendMail?: MailSender;
}

/** One outgoing email, as the email channel's sender builds it. */
export interface OutgoingMail {
  from: { name?: string; address: string };
  to: string;
  replyTo?: string;
  subject: string;
  text: string;
  html: string;
  /** Without angle brackets. */
  messageId: string;
  inReplyTo?: string;
  references: string[];
  headers: Record<string, string>;
}

export interface SmtpServer {
  transport: "smtp";
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  username?: string | undefined;
  password?: string | undefined;
}

/** The tenant's own Amazon SES account (API v2), with an access key allowed `ses:SendRawEmail`. */
export interface SesAccount {
  transport: "ses";
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The configuration set whose event destinations report bounces and complaints. */
  configurationSet?: string | undefined;
}

/**
 * Sends one email by the channel's route; resolves to the Message-ID the mail carries as sent
 * (without angle brackets): ours over SMTP, the one Amazon SES puts in place of ours.
 */
export type MailSender = (route: SmtpServer | SesAccount, mail: OutgoingMail) => Promise<{ messageId: string }>;

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

// ---- Media ------------------------------------------------------------------------------------

/** One attachment's facts and, when worth it, its bytes. */
export type MediaFetcher = (
  attachment: Attachment & { fileId: string },
) => Promise<{ bytes?: Uint8Array; fileSize?: number; mimeType?: string }>;

export interface ChannelMedia {
  /**
   * Which attachments are looked up, decided before the channel's credentials are opened:
   * `every` (the update carries only an id: WhatsApp), or only `documents` the agent can read
   * (Telegram: photos and voice already carry their size).
   */
  lookUp: "every" | "documents";
  /** A fetcher with the channel's opened credentials; files above `maxBytes` are described, not downloaded. */
  fetcher(credentials: Record<string, string>, endpoints: ChannelEndpoints, maxBytes: number): MediaFetcher;
  /**
   * An attachment that is the message itself (the mail SES stored in S3) becomes the message's
   * text and attachments once fetched; undefined for an ordinary attachment.
   */
  inline?(
    attachment: Attachment,
    bytes: Uint8Array,
  ): Promise<{ text: string; attachments: Array<Attachment & { bytes?: Uint8Array }> } | undefined>;
}

/** The providers' API base URLs (core/endpoints.ts). */
export interface ChannelEndpoints {
  telegramApiBase: string;
  whatsappApiBase: string;
  /** Twilio's REST API: Messages, IncomingPhoneNumbers and MMS media; `https://api.twilio.com` when unset. */
  twilioApiBase?: string | undefined;
  /** Amazon S3 (path-style) in place of `https://<bucket>.s3.<region>.amazonaws.com`: the local stack's and tests' emulator. */
  s3ApiBase?: string | undefined;
}
