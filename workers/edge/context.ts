import type { BillingConfig } from "../../core/billing/config";
import type { Auth0Verifier } from "../../core/access/auth0";
import type { Auth0Management } from "../../core/access/auth0-management";
import type { KnowledgeJobQueue } from "../../core/knowledge/jobs";
import type { InboundQueue } from "../../core/queue/sqs";
import type { Logger } from "../../core/observability/log";
import type { EdgeConfig, Env } from "./env";
import type { AuthVariables } from "./middleware/authenticate";
import type { DatabaseVariables } from "./middleware/database";
import type { Keyring } from "../../core/crypto/secrets";
import type { OutboundPolicy } from "../../core/http/url-policy";
import type { IntegrationConfig } from "../../core/integrations/config";

/**
 * What follows from the configuration alone, derived once per isolate (`newApp`) whichever
 * factory supplies the I/O services: the keyring that seals secrets (absent: such writes answer
 * 503) and the save-time URL policies.
 */
export interface ConfigServices {
  keyring?: Keyring;
  /** Hosts tools may target besides public ones (TOOLS_ALLOWED_HOSTS). */
  toolUrlPolicy: OutboundPolicy;
  /** Hosts alert webhooks may target besides public HTTPS ones (ALERTS_WEBHOOK_ALLOWED_HOSTS). */
  alertWebhookPolicy: OutboundPolicy;
  /** The integrations' OAuth apps and provider base URLs. */
  integrations: IntegrationConfig;
  /** The plans and the platform's Stripe account (core/billing/config.ts). */
  billing: BillingConfig;
}

/** Per-request services, built once per isolate and put on the context. */
export interface EdgeServices extends ConfigServices {
  config: EdgeConfig;
  inboundQueue: InboundQueue;
  /** Knowledge ingestion jobs; absent when KNOWLEDGE_JOBS_QUEUE_URL is not configured. */
  knowledgeJobs?: KnowledgeJobQueue;
  logger: Logger;
  /** Auth0 access-token verification; absent when AUTH0_ISSUER is not configured. */
  auth0?: Auth0Verifier;
  /** Auth0's Management API; absent unless AUTH0_MANAGEMENT_CLIENT_ID is configured. */
  auth0Management?: Auth0Management;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: EdgeServices;
    logger: Logger;
  } & Partial<DatabaseVariables & AuthVariables>;
}
