import { index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tenantId, timestamps } from "./columns";
import { conversations } from "./conversations";

export type IntegrationAuthMethod = "oauth" | "token";
/** `needs_reauth`: a refresh failed for good (revoked, expired); the agent's tools answer "not connected". */
export type IntegrationStatus = "active" | "needs_reauth";

/**
 * A tenant's connection to one provider of the integrations catalogue (core/integrations). One per
 * provider and tenant. `credentials` is the sealed JSON of the tokens (AES-256-GCM, owner
 * `integration:<id>`); `token_version` grows with every refresh, so a caller that saw a 401 with an
 * older token knows another process has refreshed already. `account` holds the public facts
 * (account id and name, Salesforce's instance URL) shown by the API.
 */
export const integrationConnections = pgTable(
  "integration_connections",
  {
    id: id(),
    tenantId: tenantId(),
    provider: text("provider").notNull(),
    authMethod: text("auth_method").$type<IntegrationAuthMethod>().notNull(),
    status: text("status").$type<IntegrationStatus>().notNull().default("active"),
    account: jsonb("account").$type<Record<string, unknown>>().notNull().default({}),
    scopes: jsonb("scopes").$type<string[]>().notNull().default([]),
    /** The provider's non-secret settings (`logConversations`), validated by its schema before they are stored. */
    settings: jsonb("settings").$type<Record<string, unknown>>().notNull().default({}),
    credentials: text("credentials").notNull(),
    tokenVersion: integer("token_version").notNull().default(1),
    /** When the access token stops working; null for tokens that do not expire. */
    accessExpiresAt: timestamp("access_expires_at", { withTimezone: true }),
    lastRefreshedAt: timestamp("last_refreshed_at", { withTimezone: true }),
    /** The last failure in words safe to show (never a token). */
    lastError: text("last_error"),
    createdBy: text("created_by"),
    ...timestamps(),
  },
  (t) => [unique("integration_connections_tenant_provider_unique").on(t.tenantId, t.provider)],
);

/**
 * An OAuth authorization in flight: made by `POST /v1/integrations/{provider}/connect`, consumed
 * (deleted) by the callback, so a `state` works once. The PKCE verifier is sealed (owner
 * `oauth-state:<id>`). Rows past `expires_at` are refused and swept.
 */
export const oauthStates = pgTable(
  "oauth_states",
  {
    id: id(),
    tenantId: tenantId(),
    provider: text("provider").notNull(),
    /** The actor that started the flow (a user id or an API key id). */
    actorId: text("actor_id").notNull(),
    codeVerifier: text("code_verifier"),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("oauth_states_tenant_idx").on(t.tenantId, t.expiresAt)],
);

/**
 * Provider events handled once (Stripe event ids) and the payment links agents created, so a
 * payment for one reaches its conversation.
 */
export const integrationEvents = pgTable(
  "integration_events",
  {
    id: id(),
    tenantId: tenantId(),
    provider: text("provider").notNull(),
    /** The provider's id of the thing: a Stripe event id (`evt_…`) or a payment link id (`plink_…`). */
    externalId: text("external_id").notNull(),
    kind: text("kind").notNull(),
    conversationId: uuid("conversation_id").references(() => conversations.id, { onDelete: "set null" }),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    ...timestamps(),
  },
  (t) => [unique("integration_events_external_unique").on(t.tenantId, t.provider, t.externalId)],
);

export type IntegrationConnection = typeof integrationConnections.$inferSelect;
export type OAuthState = typeof oauthStates.$inferSelect;
export type IntegrationEvent = typeof integrationEvents.$inferSelect;
