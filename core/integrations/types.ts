import type { z } from "zod";
import type { ChannelWebhook, EndUserIdentity } from "../channels/adapter";
import type { IntegrationConfig } from "./config";

/**
 * One provider of the integrations catalogue (HubSpot, Salesforce, Stripe): what the tenant sees
 * (name, description, scopes, tools), how it connects (OAuth 2 and the provider's non-OAuth way),
 * the cheap call that proves a connection works, revocation, the official SDK's client factory and
 * the tools agents get. The connection lifecycle (state, PKCE, sealing, refresh, needs re-auth) is
 * shared code in this folder, never per provider. Adding a provider is one folder
 * `core/integrations/<provider>/` exporting an `IntegrationProvider` plus one line in `registry.ts`.
 */
export interface IntegrationProvider<Client = unknown> {
  id: ProviderId;
  name: string;
  description: string;
  /** Where the tenant finds or creates what the non-OAuth way needs. */
  docsUrl: string;
  oauth: OAuthSpec;
  /** The provider's non-OAuth way (a private-app token, a restricted key, a JWT bearer grant). */
  token: TokenSpec;
  /** Non-secret settings of a connection (`PATCH` later; validated before they are stored). */
  settings: z.ZodType<Record<string, unknown>>;
  /** One authenticated call as cheap as the provider offers: the account's identity. Throws {@link ProviderError}. */
  probe(access: ProviderAccess, http: ProviderHttp): Promise<AccountFacts>;
  /** Revokes the grant at the provider (best effort on disconnect): whether the provider confirmed it. */
  revoke(credentials: StoredCredentials, http: ProviderHttp): Promise<boolean>;
  /** The official SDK's client for one connection (pool only: loaded on first use). */
  client(access: ProviderAccess, config: IntegrationConfig): Promise<Client>;
  /** The SDK's error in the provider's words (status, refused credentials, rate limit); undefined when it is not the provider's. */
  sdkError(error: unknown): ProviderError | undefined;
  tools: ReadonlyArray<IntegrationTool<Client>>;
  /**
   * Writes a conversation's transcript to the CRM (a HubSpot note, a Salesforce task on the person),
   * when the connection's `logConversations` setting is on and the conversation is handed to a
   * person. Answers what was written, or why nothing was (nobody to attach it to).
   */
  logTranscript?(client: Client, transcript: Transcript): Promise<ToolAnswer & { written: boolean }>;
  /** The provider's events for a connection (Stripe payments), through the edge's one webhook intake. */
  webhook?: IntegrationWebhook;
}

/**
 * A provider's webhook: the intake's hooks (verify, payload, normalise into `integration.event`
 * queue messages; the address is `<tenant>.<connection>`) and the registration made on connecting
 * and removed on disconnecting.
 */
export interface IntegrationWebhook {
  intake: ChannelWebhook;
  events: readonly string[];
  /**
   * Registers our endpoint for the connection at the provider: `target.url` is its address, and
   * `seal` seals a provider-made signing secret for the edge. Answers public facts to keep
   * (the endpoint's id).
   */
  register(
    access: ProviderAccess,
    target: { url: string; seal(secret: string): Promise<string> },
    http: ProviderHttp,
  ): Promise<Record<string, unknown>>;
  unregister(access: ProviderAccess, facts: Record<string, unknown>, http: ProviderHttp): Promise<void>;
}

export const PROVIDER_IDS = ["hubspot", "salesforce", "stripe"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** OAuth 2 authorization code flow of a provider. */
export interface OAuthSpec {
  /** PKCE (S256) is sent and required when the provider supports it. */
  pkce: boolean;
  scopes: readonly string[];
  /** Extra query parameters of the authorization request (Stripe's `scope=read_write`). */
  authorizeParams?: Record<string, string>;
  authorizationEndpoint(config: IntegrationConfig): string;
  tokenEndpoint(config: IntegrationConfig): string;
  /** The platform's OAuth app for this provider; undefined: OAuth is not configured here. */
  app(config: IntegrationConfig): { clientId: string; clientSecret: string } | undefined;
  /** The stored credentials from a token response (code exchange or refresh) and the previous ones. */
  credentials(response: TokenResponse, config: IntegrationConfig, previous?: StoredCredentials): StoredCredentials;
  /** Access tokens that expire carry `expires_in`; Salesforce's do not, so it says how long a session lasts. */
  defaultLifetimeSeconds?: number;
}

/** The non-OAuth way: request fields (all secret), how to turn them into access, and what the tenant reads about it. */
export interface TokenSpec {
  label: string;
  fields: z.ZodObject<z.ZodRawShape>;
  /** Checks the fields' shape and obtains access (Salesforce's JWT bearer grant); the probe then proves it. */
  exchange(fields: Record<string, string>, config: IntegrationConfig, http: ProviderHttp): Promise<Exchanged>;
}

export interface Exchanged {
  credentials: StoredCredentials;
  expiresInSeconds?: number;
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  [key: string]: unknown;
}

/** What is sealed for a connection (`integration:<id>`); never returned, logged or shown to a model. */
export interface StoredCredentials {
  accessToken: string;
  refreshToken?: string;
  /** Salesforce: the org's instance URL the token works against. */
  instanceUrl?: string;
  /** Stripe Connect: the connected account (`acct_…`), sent as `Stripe-Account`. */
  accountId?: string;
  /** Salesforce JWT bearer: what re-obtains a token when it expires. */
  jwtBearer?: { clientId: string; username: string; privateKey: string; audience: string };
}

/** The access a call needs: the token and where it works. */
export interface ProviderAccess {
  accessToken: string;
  instanceUrl?: string;
  accountId?: string;
  config: IntegrationConfig;
}

/** The account a connection reaches, shown by the API (never a secret). */
export interface AccountFacts {
  id: string;
  name?: string;
  [key: string]: unknown;
}

/** `fetch` with the provider's base URLs configured (every base URL is configurable for tests). */
export interface ProviderHttp {
  fetch: typeof fetch;
  config: IntegrationConfig;
}

/**
 * A tool the agents get: arguments validated by zod before `run`, tenant and conversation from the
 * run config (never from the model). `run` answers what the model reads; secrets never appear in it.
 */
export interface IntegrationTool<Client = unknown> {
  /** Short name; the agent enables `<provider>.<name>` and the model sees `<provider>_<name>`. */
  name: string;
  description: string;
  schema: z.ZodObject<z.ZodRawShape>;
  /** Needs a confirmation bound to the call (the user's CONFIRM code or an operator) before it runs. */
  requiresApproval?: boolean;
  /** `operator`: only an operator whose role the tenant allows (`refundApproverRoles`) may approve; the user's confirmation is not enough. */
  approval?: "operator";
  run(client: Client, args: Record<string, unknown>, context: IntegrationToolContext): Promise<ToolAnswer>;
}

export interface IntegrationToolContext {
  tenantId: string;
  conversationId: string;
  /** The person's identity on the channel: an email address or a phone number when the channel has one. */
  endUser: EndUserIdentity;
  /** Records a payment link (or similar) so a later provider event reaches this conversation. */
  remember?(externalId: string, kind: string, details: Record<string, unknown>): Promise<void>;
}

/** A conversation as a CRM records it. */
export interface Transcript {
  conversationId: string;
  /** "Telegram", "WhatsApp"… */
  channel: string;
  endUser: EndUserIdentity;
  /** One line per message, oldest first: `2026-12-05 18:22 Customer: …`. */
  lines: string[];
  subject: string;
}

/** What a tool answers: text for the model, and facts for the turn record. */
export interface ToolAnswer {
  text: string;
  /** Ids of what was read or written (`contact 51`), recorded with the call. */
  refs?: string[];
}

/** The secret-context owner of a provider-made webhook secret sealed for the edge (Stripe's `whsec_…`). */
export const webhookSecretOwner = (provider: string, connectionId: string) => `${provider}-webhook:${connectionId}`;

/**
 * A provider's error in words the model (and the tenant) can act on: `status` from the provider,
 * `retryAfterSeconds` on 429, `auth` when the token is refused (a refresh may help).
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly options: { auth?: boolean; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }
}
