import type { MailSender } from "../../../core/channels/adapter";
import type { Keyring } from "../../../core/crypto/secrets";
import type { ProviderCredentials } from "../../../core/engine/credentials";
import type { ProviderRegistry, ResolvedModelEnvironment } from "../../../core/engine/providers";
import type { ConversationMemory } from "../../../core/knowledge/memory";
import type { RetrievedChunk } from "../../../core/knowledge/prompt";
import type { KnowledgeRequest } from "../../../core/knowledge/service";
import type { Logger } from "../../../core/observability/log";
import type { TurnMetrics } from "../../../core/observability/metrics";
import type { InboundMessage } from "../../../core/queue/inbound-message";
import type { Database } from "../../../db/client";
import type { ToolRuntime } from "../tools";
import type { IntegrationConfig } from "../../../core/integrations/config";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { PlansConfig } from "../../../core/billing/plans";

/**
 * The services a turn needs, built once when the pool starts (workers/pool/main.ts) and passed to
 * every handler; tests build their own with loopback fakes.
 */
export interface TurnDependencies {
  db: Database;
  keyring: Keyring;
  telegramApiBase: string;
  /** WhatsApp Cloud API base with its version (core/endpoints.ts). */
  whatsappApiBase: string;
  /** Twilio's REST API (SMS channels); Twilio's own when unset (core/endpoints.ts). */
  twilioApiBase?: string | undefined;
  /** Amazon S3 in place of the bucket's own endpoint (the local emulator), where email channels read the mail SES stored. */
  s3ApiBase?: string | undefined;
  /** Puts a message on the inbound queue (flushes of merged rapid messages); without it messages are never merged. */
  enqueue?: (message: InboundMessage) => Promise<void>;
  /** Waits: channel rate-limit back-off and the merge window; tests may shorten it. */
  sleep?: (ms: number) => Promise<void>;
  /** First back-off for WhatsApp rate limits (doubles per attempt); default 1000 ms. */
  rateLimitBaseMs?: number;
  /** Email channels' sends over SMTP or Amazon SES (workers/pool/mail.ts); without it email replies fail with the reason. */
  sendMail?: MailSender;
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
  /** The integrations' OAuth apps and provider base URLs (core/integrations/config.ts); default: production endpoints, no OAuth apps. */
  integrations?: IntegrationConfig;
  /** `fetch` for provider calls outside an SDK (token refresh); tests may wrap it. */
  fetch?: typeof fetch;
  /** The plans in configuration (BILLING_PLANS); the defaults otherwise. */
  plans?: PlansConfig;
  /** Test runs (workers/pool/test-runs.ts): replaces the turn's tools with the case's stubs. */
  toolGuard?: (tools: StructuredToolInterface[]) => StructuredToolInterface[];
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
  | "status_recorded"
  /** Stored, not answered: the sender had all the replies the channel allows them in an hour (email floods and loops). */
  | "sender_limited"
  /** Stored, not answered: a subscription keyword (SMS `STOP`, `START`, `HELP`), or a message from a person who opted out. */
  | "opted_out";
