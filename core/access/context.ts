import type { Transaction } from "../../db/client";
import type { AuditActorType } from "../../db/schema";
import type { Permission } from "./permissions";
import type { Keyring } from "../crypto/secrets";
import type { OutboundPolicy } from "../http/url-policy";
import type { IntegrationConfig } from "../integrations/config";
import type { Auth0Management } from "./auth0-management";
import type { BillingConfig } from "../billing/config";

/**
 * Who is calling, always inside exactly one tenant: a signed-in user, an API key, or `system`
 * (operator scripts such as `npm run apikey`, which never come through the API).
 */
export interface Actor {
  type: AuditActorType;
  /** The user id or the API key id. */
  id: string;
  /** Set for users: used for "created by" columns. */
  userId?: string;
}

/** The caller as authentication established it, before any transaction is open. */
export interface Principal {
  tenantId: string;
  actor: Actor;
  role: { id: string; name: string };
  permissions: ReadonlySet<Permission>;
  /** The tenant's CORS origins, as stored in its settings. */
  allowedOrigins: readonly string[];
}

/**
 * What every domain verb receives as `ctx`: the principal plus a transaction already scoped to
 * the tenant (`withTenant`), so the change and its audit record commit or roll back together.
 */
export interface AccessContext extends Principal {
  tx: Transaction;
  requestId?: string;
  /** What some verbs need besides the caller and the transaction; absent parts make those verbs answer 503. */
  services?: DomainServices;
}

/**
 * Built once per process (per isolate at the edge) and carried on `ctx`, so every verb keeps the
 * one shape `({ ctx, input })`: the keyring that seals secrets, the outbound URL policies, the
 * channel providers' endpoints and our public base URL, and the document fetcher of tool imports.
 */
export interface DomainServices {
  keyring?: Keyring;
  /** Hosts tools may target besides public ones. */
  toolUrlPolicy?: OutboundPolicy;
  /** Hosts alert webhooks may target besides public HTTPS ones. */
  alertWebhookPolicy?: OutboundPolicy;
  /** Fetches an OpenAPI document by URL (through the pool's SSRF-safe runner). */
  fetchDocument?: (url: string) => Promise<string>;
  /** Managing channels: deriving webhook secrets, calling the providers, building webhook URLs. */
  channels?: ChannelProviders;
  /** Connecting integrations: the providers' OAuth apps and base URLs, the state's signing key, our callback's base URL. */
  integrations?: IntegrationServices;
  /**
   * How invitees join: through an Auth0 organisation invitation that Auth0 emails, or (without
   * Auth0, LOCAL_SIGN_IN) through a one-time acceptance link under our public base URL.
   */
  invitations?: { via: "auth0"; auth0: Auth0Management } | { via: "link"; publicBaseUrl: string };
  /** The plans (limits the verbs enforce) and the platform's Stripe account; absent: the default plans, no checkout. */
  billing?: BillingConfig;
}

export interface IntegrationServices {
  config: IntegrationConfig;
  /** WEBHOOK_SIGNING_KEY: the OAuth `state` is signed with a key derived from it. */
  signingKey: string;
  /** Our public base URL: the OAuth redirect URI is `<base>/v1/integrations/<provider>/callback`. */
  publicBaseUrl: string;
  fetch?: typeof fetch;
}

export interface ChannelProviders {
  /** WEBHOOK_SIGNING_KEY: derives Telegram's secret token and WhatsApp's verify token per channel. */
  signingKey: string;
  telegramApiBase: string;
  whatsappApiBase: string;
  /** Twilio's REST API (SMS channels); Twilio's own when unset. */
  twilioApiBase?: string | undefined;
  /** Our public base URL, e.g. https://api.example.com: webhooks and the widget are under it. */
  publicBaseUrl: string;
  /** EMAIL_DOMAIN: email channels' inbound addresses are under it. */
  emailDomain?: string | undefined;
  fetch?: typeof fetch;
}

/** The shape every verb has, so callers (HTTP, scripts, tools) invoke them the same way. */
export type Verb<I, O> = (args: { ctx: AccessContext; input: I }) => Promise<O>;
