import { and, eq, lt, sql } from "drizzle-orm";
import { requireModule } from "../billing/limits";
import { z } from "zod";
import type { Transaction } from "../../db/client";
import { integrationConnections, oauthStates, type IntegrationConnection } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext, Actor, IntegrationServices } from "../access/context";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { getAgent, updateAgent, type AgentView } from "../agents/agents";
import { decryptSecret, encryptSecret, sealCredentials, openCredentials, type Keyring } from "../crypto/secrets";
import { DomainError, issueDetails, NotFoundError, secretsUnavailable, UnavailableError } from "../errors";
import { accessOf, connectionAccessIn, connectionOwner, NotConnectedError } from "./access";
import { formatChannelAddress } from "../channels/address";
import { sealWebhookSecret } from "../channels/credentials";
import { authorizationUrl, exchangeCode, pkcePair, signState, STATE_TTL_SECONDS, verifyState } from "./oauth";
import { INTEGRATIONS, integrationProvider, isProviderId } from "./registry";
import { ProviderError, PROVIDER_IDS, type AccountFacts, type IntegrationProvider, type ProviderId, type StoredCredentials } from "./types";

/**
 * The integration verbs (`/v1/integrations`), each `({ ctx, input })`: the catalogue with this
 * tenant's connections, starting an OAuth authorization, connecting with a provider's token,
 * reading, testing and removing a connection, and choosing an agent's integration tools. The OAuth
 * callback ({@link completeOAuth}) has no signed-in caller: its signed, single-use state names the
 * tenant and actor. Tokens are sealed with `integration:<id>` as associated data and never returned.
 */
type Ctx = AccessContext;

export const connectionDto = z
  .object({
    id: z.uuid(),
    provider: z.enum(PROVIDER_IDS),
    authMethod: z.enum(["oauth", "token"]),
    status: z.enum(["active", "needs_reauth"]),
    account: z.record(z.string(), z.unknown()).describe("The provider account reached: its id and name (never a secret)"),
    scopes: z.array(z.string()),
    settings: z.record(z.string(), z.unknown()).describe("The provider's settings, e.g. `logConversations`"),
    accessExpiresAt: z.string().nullable(),
    lastRefreshedAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .describe("A tenant's connection to one integration");
export type ConnectionDto = z.infer<typeof connectionDto>;

export const catalogueEntry = z.object({
  provider: z.enum(PROVIDER_IDS),
  name: z.string(),
  description: z.string(),
  docsUrl: z.string(),
  oauth: z.object({
    available: z.boolean().describe("Whether this platform has the provider's OAuth app configured"),
    pkce: z.boolean(),
    scopes: z.array(z.string()),
  }),
  token: z.object({ label: z.string(), fields: z.array(z.string()) }),
  tools: z.array(z.object({ name: z.string(), description: z.string(), requiresApproval: z.boolean() })),
  connection: connectionDto.nullable(),
});
export type CatalogueEntry = z.infer<typeof catalogueEntry>;

export const connectionTestResult = z.object({
  ok: z.boolean(),
  detail: z.string().describe("What the provider answered, in words safe to show"),
  account: z.record(z.string(), z.unknown()).optional(),
  connection: connectionDto,
});

export function toConnectionDto(row: IntegrationConnection): ConnectionDto {
  return {
    id: row.id,
    provider: row.provider as ProviderId,
    authMethod: row.authMethod,
    status: row.status,
    account: row.account,
    scopes: row.scopes,
    settings: { ...defaultSettings(row.provider), ...row.settings },
    accessExpiresAt: iso(row.accessExpiresAt),
    lastRefreshedAt: iso(row.lastRefreshedAt),
    lastError: row.lastError,
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}

export async function listIntegrations({ ctx }: { ctx: Ctx; input?: undefined }): Promise<CatalogueEntry[]> {
  requirePermission(ctx, "integrations:read");
  const rows = await ctx.tx.select().from(integrationConnections).where(eq(integrationConnections.tenantId, ctx.tenantId));
  const config = ctx.services?.integrations?.config;
  return PROVIDER_IDS.map((id) => {
    const provider = integrationProvider(id);
    const row = rows.find((r) => r.provider === id);
    return {
      provider: id,
      name: provider.name,
      description: provider.description,
      docsUrl: provider.docsUrl,
      oauth: { available: Boolean(config && provider.oauth.app(config)), pkce: provider.oauth.pkce, scopes: [...provider.oauth.scopes] },
      token: { label: provider.token.label, fields: Object.keys(provider.token.fields.shape) },
      tools: provider.tools.map((t) => ({
        name: `${id}.${t.name}`,
        description: t.description,
        requiresApproval: Boolean(t.requiresApproval),
      })),
      connection: row ? toConnectionDto(row) : null,
    };
  });
}

/**
 * Starts an OAuth authorization: records a single-use state row (the PKCE verifier sealed in it)
 * and answers the provider's authorization URL, whose `state` is signed and bound to the tenant,
 * the caller and the provider, expiring in {@link STATE_TTL_SECONDS} seconds.
 */
export async function startOAuth({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { provider: string };
}): Promise<{ authorizationUrl: string; expiresAt: string }> {
  requirePermission(ctx, "integrations:write");
  await requireModule(ctx, "integrations");
  const { services, keyring } = servicesOf(ctx);
  const provider = providerOf(input.provider);
  const app = provider.oauth.app(services.config);
  if (!app)
    throw new UnavailableError(
      "INTEGRATION_NOT_CONFIGURED",
      `${provider.name} OAuth is not configured on this platform; connect with a token instead.`,
    );
  const nonce = crypto.randomUUID();
  const pkce = provider.oauth.pkce ? await pkcePair() : undefined;
  const nowSeconds = Math.floor(Date.now() / 1000);
  const expiresAt = new Date((nowSeconds + STATE_TTL_SECONDS) * 1000);
  // Abandoned authorizations of this tenant are swept as new ones start.
  await ctx.tx.delete(oauthStates).where(and(eq(oauthStates.tenantId, ctx.tenantId), lt(oauthStates.expiresAt, sql`now()`)));
  await ctx.tx.insert(oauthStates).values({
    id: nonce,
    tenantId: ctx.tenantId,
    provider: provider.id,
    actorId: actorKey(ctx.actor),
    codeVerifier: pkce ? await encryptSecret(keyring, { tenantId: ctx.tenantId, owner: `oauth-state:${nonce}` }, pkce.verifier) : null,
    expiresAt,
  });
  const state = await signState(
    services.signingKey,
    { tenantId: ctx.tenantId, actorId: actorKey(ctx.actor), provider: provider.id, nonce },
    nowSeconds,
  );
  await recordAudit(ctx, {
    action: "integration.authorize",
    resourceType: "integration",
    resourceId: provider.id,
    after: { provider: provider.id, expiresAt },
  });
  return {
    authorizationUrl: authorizationUrl(provider, services.config, {
      clientId: app.clientId,
      redirectUri: redirectUri(services, provider.id),
      state,
      ...(pkce ? { codeChallenge: pkce.challenge } : {}),
    }),
    expiresAt: expiresAt.toISOString(),
  };
}

/** Connects with the provider's non-OAuth credentials, after one authenticated call proves they work. */
export async function connectWithToken({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { provider: string; credentials: Record<string, unknown> };
}): Promise<ConnectionDto> {
  requirePermission(ctx, "integrations:write");
  await requireModule(ctx, "integrations");
  const { services, keyring } = servicesOf(ctx);
  const provider = providerOf(input.provider);
  const parsed = provider.token.fields.safeParse(input.credentials);
  if (!parsed.success)
    throw new DomainError(
      "INVALID_CREDENTIALS",
      422,
      `These are not ${provider.name} ${provider.token.label.toLowerCase()} credentials.`,
      issueDetails(parsed.error.issues),
    );
  const http = httpOf(services);
  const { credentials, expiresInSeconds } = await refusedUnlessAccepted(provider, () =>
    provider.token.exchange(parsed.data as Record<string, string>, services.config, http),
  );
  const account = await refusedUnlessAccepted(provider, () => provider.probe({ ...credentials, config: services.config }, http));
  const saved = await saveConnection(ctx.tx, keyring, {
    tenantId: ctx.tenantId,
    actor: ctx.actor,
    provider,
    authMethod: "token",
    credentials,
    account,
    scopes: [],
    expiresInSeconds,
  });
  const row = await attachWebhook(ctx.tx, keyring, services, saved, credentials);
  const dto = toConnectionDto(row);
  await recordAudit(ctx, { action: "integration.connect", resourceType: "integration_connection", resourceId: row.id, after: dto });
  return dto;
}

export async function getConnection({ ctx, input }: { ctx: Ctx; input: { connectionId: string } }): Promise<ConnectionDto> {
  requirePermission(ctx, "integrations:read");
  return toConnectionDto(await findConnection(ctx, input.connectionId));
}

/** Changes a connection's settings (`logConversations` for the CRMs), validated by the provider's schema. */
export async function updateConnection({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { connectionId: string; settings: Record<string, unknown> };
}): Promise<ConnectionDto> {
  requirePermission(ctx, "integrations:write");
  const row = await findConnection(ctx, input.connectionId, { forUpdate: true });
  const provider = integrationProvider(row.provider as ProviderId);
  const parsed = provider.settings.safeParse({ ...row.settings, ...input.settings });
  if (!parsed.success)
    throw new DomainError("INVALID_SETTINGS", 422, `These are not ${provider.name} settings.`, issueDetails(parsed.error.issues));
  const [updated] = await ctx.tx
    .update(integrationConnections)
    .set({ settings: parsed.data, updatedAt: sql`now()` })
    .where(and(eq(integrationConnections.tenantId, ctx.tenantId), eq(integrationConnections.id, row.id)))
    .returning();
  const dto = toConnectionDto(updated!);
  await recordAudit(ctx, {
    action: "integration.update",
    resourceType: "integration_connection",
    resourceId: row.id,
    before: toConnectionDto(row),
    after: dto,
  });
  return dto;
}

/** A provider's settings with every default filled in (what a connection has before anyone changes them). */
function defaultSettings(provider: string): Record<string, unknown> {
  if (!isProviderId(provider)) return {};
  const parsed = integrationProvider(provider).settings.safeParse({});
  return parsed.success ? parsed.data : {};
}

/** `POST .../connections/{id}/test`: one cheap authenticated call (refreshing first when the token is about to expire). */
export async function testConnection({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { connectionId: string };
}): Promise<z.infer<typeof connectionTestResult>> {
  requirePermission(ctx, "integrations:write");
  const { services, keyring } = servicesOf(ctx);
  const row = await findConnection(ctx, input.connectionId);
  const provider = integrationProvider(row.provider as ProviderId);
  let outcome: { ok: boolean; detail: string; account?: AccountFacts };
  try {
    const { access } = await connectionAccessIn(
      ctx.tx,
      { keyring, config: services.config, ...(services.fetch ? { fetch: services.fetch } : {}) },
      ctx.tenantId,
      {
        connectionId: row.id,
      },
    );
    const account = await provider.probe(access, httpOf(services));
    outcome = { ok: true, detail: `${provider.name} answered for account ${account.id}.`, account };
  } catch (error) {
    if (error instanceof NotConnectedError) outcome = { ok: false, detail: error.message };
    else if (error instanceof ProviderError) outcome = { ok: false, detail: error.message };
    else throw error;
  }
  const [updated] = await ctx.tx
    .update(integrationConnections)
    .set({
      lastError: outcome.ok ? null : outcome.detail,
      ...(outcome.account ? { account: outcome.account } : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(integrationConnections.tenantId, ctx.tenantId), eq(integrationConnections.id, row.id)))
    .returning();
  return { ...outcome, connection: toConnectionDto(updated!) };
}

/** Disconnects: revokes the grant at the provider (best effort, reported), then deletes the connection and its tokens. */
export async function deleteConnection({ ctx, input }: { ctx: Ctx; input: { connectionId: string } }): Promise<{ revoked: boolean }> {
  requirePermission(ctx, "integrations:delete");
  const { services, keyring } = servicesOf(ctx);
  const row = await findConnection(ctx, input.connectionId, { forUpdate: true });
  const provider = integrationProvider(row.provider as ProviderId);
  let revoked = false;
  try {
    const credentials = await openCredentials<StoredCredentials>(
      keyring,
      { tenantId: ctx.tenantId, owner: connectionOwner(row.id) },
      row.credentials,
    );
    if (provider.webhook && row.account.webhookEndpointId)
      await provider.webhook.unregister(accessOf(credentials, services.config), row.account, httpOf(services)).catch(() => undefined);
    revoked = await provider.revoke(credentials, httpOf(services));
  } catch {
    // Unreadable credentials or an unreachable provider: the connection still goes; the answer says it was not revoked.
  }
  await ctx.tx
    .delete(integrationConnections)
    .where(and(eq(integrationConnections.tenantId, ctx.tenantId), eq(integrationConnections.id, row.id)));
  await recordAudit(ctx, {
    action: "integration.disconnect",
    resourceType: "integration_connection",
    resourceId: row.id,
    before: toConnectionDto(row),
    after: { revoked },
  });
  return { revoked };
}

/** Sets which of a provider's tools an agent may use (a new agent version; also needs `agents:write`). */
export async function setAgentIntegrationTools({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { provider: string; agentId: string; tools: string[] };
}): Promise<AgentView> {
  requirePermission(ctx, "integrations:write");
  const provider = providerOf(input.provider);
  const known = new Set(provider.tools.map((t) => t.name));
  const unknown = input.tools.filter((name) => !known.has(name.replace(`${provider.id}.`, "")));
  if (unknown.length)
    throw new DomainError("UNKNOWN_INTEGRATION_TOOL", 422, `${provider.name} has no tool named ${unknown.join(", ")}.`, {
      known: [...known].map((name) => `${provider.id}.${name}`),
    });
  const agent = await getAgent({ ctx, input: { agentId: input.agentId } });
  const chosen = input.tools.map((name) => (name.startsWith(`${provider.id}.`) ? name : `${provider.id}.${name}`));
  const others = agent.integrationTools.filter((name) => !name.startsWith(`${provider.id}.`));
  return updateAgent({ ctx, input: { agentId: agent.id, changes: { integrationTools: [...others, ...new Set(chosen)] } } });
}

// ---- The OAuth callback ------------------------------------------------------------------------

export type CallbackOutcome =
  | { ok: true; provider: IntegrationProvider; connection: ConnectionDto }
  | { ok: false; provider?: IntegrationProvider; code: CallbackRefusal; message: string };

export type CallbackRefusal =
  | "UNKNOWN_PROVIDER"
  | "STATE_MISSING"
  | "STATE_INVALID"
  | "STATE_EXPIRED"
  | "STATE_USED"
  | "AUTHORIZATION_DENIED"
  | "CODE_MISSING"
  | "TOKEN_EXCHANGE_FAILED"
  | "NOT_CONFIGURED";

/**
 * Finishes an authorization (`GET /v1/integrations/{provider}/callback`): the state's signature,
 * provider and expiry are checked, then its row is consumed (deleted) in the tenant the state names,
 * so a replay, a state from another tenant or one never issued finds nothing. Only then is the code
 * exchanged (with the PKCE verifier), the account probed and the connection stored, audited as the
 * actor who started it. Any refusal stores nothing.
 */
export async function completeOAuth(
  deps: {
    services: IntegrationServices;
    keyring: Keyring | undefined;
    /** Runs work in a transaction scoped to a tenant (`withTenant`). */
    inTenant: <T>(tenantId: string, work: (tx: Transaction) => Promise<T>) => Promise<T>;
    requestId?: string;
  },
  providerName: string,
  query: Record<string, string | undefined>,
): Promise<CallbackOutcome> {
  if (!isProviderId(providerName)) return { ok: false, code: "UNKNOWN_PROVIDER", message: "There is no such integration." };
  const provider = integrationProvider(providerName);
  if (!deps.keyring)
    return { ok: false, provider, code: "NOT_CONFIGURED", message: "Secrets cannot be stored right now; try again later." };
  const keyring = deps.keyring;
  const verified = await verifyState(deps.services.signingKey, query.state, provider.id);
  if (!verified.ok) {
    const refusals = {
      missing: ["STATE_MISSING", "The authorization came back without its state."],
      invalid: ["STATE_INVALID", "The authorization's state is not one we issued."],
      wrong_provider: ["STATE_INVALID", "The authorization's state was issued for another integration."],
      expired: ["STATE_EXPIRED", "The authorization took longer than 10 minutes. Start connecting again."],
    } as const;
    const [code, message] = refusals[verified.reason];
    return { ok: false, provider, code, message };
  }
  const { tenantId, actorId, nonce } = verified.claims;
  const consumed = await deps.inTenant(tenantId, async (tx) => {
    const [row] = await tx
      .delete(oauthStates)
      .where(
        and(
          eq(oauthStates.tenantId, tenantId),
          eq(oauthStates.id, nonce),
          eq(oauthStates.provider, provider.id),
          eq(oauthStates.actorId, actorId),
          sql`${oauthStates.expiresAt} > now()`,
        ),
      )
      .returning();
    return row;
  });
  if (!consumed)
    return {
      ok: false,
      provider,
      code: "STATE_USED",
      message: "This authorization was already used or has expired. Start connecting again.",
    };
  if (query.error)
    return {
      ok: false,
      provider,
      code: "AUTHORIZATION_DENIED",
      message: `${provider.name} did not authorize the connection: ${(query.error_description ?? query.error).slice(0, 200)}`,
    };
  if (!query.code)
    return { ok: false, provider, code: "CODE_MISSING", message: `${provider.name} came back without an authorization code.` };
  const codeVerifier = consumed.codeVerifier
    ? await decryptSecret(keyring, { tenantId, owner: `oauth-state:${nonce}` }, consumed.codeVerifier)
    : undefined;
  let credentials: StoredCredentials;
  let expiresInSeconds: number | undefined;
  let scopes: string[];
  let account: AccountFacts;
  try {
    const response = await exchangeCode(
      provider,
      deps.services.config,
      {
        code: query.code,
        state: query.state!,
        redirectUri: redirectUri(deps.services, provider.id),
        ...(codeVerifier ? { codeVerifier } : {}),
      },
      deps.services.fetch ? { fetch: deps.services.fetch } : {},
    );
    credentials = provider.oauth.credentials(response, deps.services.config);
    expiresInSeconds = typeof response.expires_in === "number" ? response.expires_in : provider.oauth.defaultLifetimeSeconds;
    scopes = typeof response.scope === "string" ? response.scope.split(/[ ,]+/).filter(Boolean) : [...provider.oauth.scopes];
    account = await provider.probe({ ...credentials, config: deps.services.config }, httpOf(deps.services));
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { ok: false, provider, code: "TOKEN_EXCHANGE_FAILED", message: error.message };
  }
  const actor = actorFromKey(actorId);
  const connection = await deps.inTenant(tenantId, async (tx) => {
    const saved = await saveConnection(tx, keyring, {
      tenantId,
      actor,
      provider,
      authMethod: "oauth",
      credentials,
      account,
      scopes,
      expiresInSeconds,
    });
    const row = await attachWebhook(tx, keyring, deps.services, saved, credentials);
    const dto = toConnectionDto(row);
    await recordAudit(
      { tenantId, actor, tx, ...(deps.requestId ? { requestId: deps.requestId } : {}) },
      { action: "integration.connect", resourceType: "integration_connection", resourceId: row.id, after: dto },
    );
    return dto;
  });
  return { ok: true, provider, connection };
}

// ---- Helpers only these verbs use ----------------------------------------------------------------

/** Stores a new connection, or replaces the tenant's existing one for the provider (a reconnect), with its tokens sealed. */
async function saveConnection(
  tx: Transaction,
  keyring: Keyring,
  input: {
    tenantId: string;
    actor: Actor;
    provider: IntegrationProvider;
    authMethod: "oauth" | "token";
    credentials: StoredCredentials;
    account: AccountFacts;
    scopes: string[];
    expiresInSeconds: number | undefined;
  },
): Promise<{ row: IntegrationConnection; previousAccount?: Record<string, unknown> }> {
  const [existing] = await tx
    .select({ id: integrationConnections.id, tokenVersion: integrationConnections.tokenVersion, account: integrationConnections.account })
    .from(integrationConnections)
    .where(and(eq(integrationConnections.tenantId, input.tenantId), eq(integrationConnections.provider, input.provider.id)))
    .for("update");
  const id = existing?.id ?? crypto.randomUUID();
  const values = {
    authMethod: input.authMethod,
    status: "active" as const,
    account: input.account,
    scopes: input.scopes,
    credentials: await sealCredentials(keyring, { tenantId: input.tenantId, owner: connectionOwner(id) }, input.credentials),
    accessExpiresAt: input.expiresInSeconds ? new Date(Date.now() + input.expiresInSeconds * 1000) : null,
    lastError: null,
    createdBy: actorKey(input.actor),
  };
  if (existing) {
    const [row] = await tx
      .update(integrationConnections)
      .set({ ...values, tokenVersion: existing.tokenVersion + 1, lastRefreshedAt: null, updatedAt: sql`now()` })
      .where(and(eq(integrationConnections.tenantId, input.tenantId), eq(integrationConnections.id, id)))
      .returning();
    return { row: row!, previousAccount: existing.account };
  }
  const [row] = await tx
    .insert(integrationConnections)
    .values({ id, tenantId: input.tenantId, provider: input.provider.id, ...values })
    .returning();
  return { row: row! };
}

/**
 * Registers the provider's webhook for a connection (Stripe's payment events) and keeps its facts
 * on the connection; a reconnect removes the endpoint registered before. A provider that refuses
 * (a restricted key without Webhook Endpoints write) leaves the connection working without events,
 * and the facts say why.
 */
async function attachWebhook(
  tx: Transaction,
  keyring: Keyring,
  services: IntegrationServices,
  saved: { row: IntegrationConnection; previousAccount?: Record<string, unknown> },
  credentials: StoredCredentials,
): Promise<IntegrationConnection> {
  const { row, previousAccount } = saved;
  const webhook = integrationProvider(row.provider as ProviderId).webhook;
  if (!webhook) return row;
  const access = accessOf(credentials, services.config);
  const http = httpOf(services);
  if (previousAccount?.webhookEndpointId) await webhook.unregister(access, previousAccount, http).catch(() => undefined);
  const address = formatChannelAddress({ tenantId: row.tenantId, channelId: row.id });
  let facts: Record<string, unknown>;
  try {
    facts = {
      webhook: "registered",
      ...(await webhook.register(
        access,
        {
          url: `${services.publicBaseUrl.replace(/\/+$/, "")}/webhooks/${row.provider}/${address}`,
          seal: (secret) => sealWebhookSecret(keyring, row.provider, { tenantId: row.tenantId, channelId: row.id }, secret),
        },
        http,
      )),
    };
  } catch (error) {
    facts = { webhook: `not registered: ${error instanceof Error ? error.message.slice(0, 200) : "unknown error"}` };
  }
  const [updated] = await tx
    .update(integrationConnections)
    .set({ account: { ...row.account, ...facts }, updatedAt: sql`now()` })
    .where(and(eq(integrationConnections.tenantId, row.tenantId), eq(integrationConnections.id, row.id)))
    .returning();
  return updated!;
}

async function findConnection(ctx: Ctx, connectionId: string, options: { forUpdate?: boolean } = {}): Promise<IntegrationConnection> {
  if (!z.uuid().safeParse(connectionId).success) throw new NotFoundError("integration connection");
  const query = ctx.tx
    .select()
    .from(integrationConnections)
    .where(and(eq(integrationConnections.tenantId, ctx.tenantId), eq(integrationConnections.id, connectionId)));
  const [row] = options.forUpdate ? await query.for("update") : await query;
  if (!row) throw new NotFoundError("integration connection");
  return row;
}

function providerOf(id: string): IntegrationProvider {
  if (!isProviderId(id))
    throw new DomainError("UNKNOWN_INTEGRATION", 404, `There is no integration named ${id}; see GET /v1/integrations.`);
  return INTEGRATIONS[id];
}

function servicesOf(ctx: Ctx): { services: IntegrationServices; keyring: Keyring } {
  const services = ctx.services?.integrations;
  const keyring = ctx.services?.keyring;
  if (!keyring) throw secretsUnavailable();
  if (!services) throw new UnavailableError("INTEGRATION_NOT_CONFIGURED", "Integrations are not configured here.");
  return { services, keyring };
}

/** Provider HTTP for the verbs; workerd's `fetch` must not be called as a method of another object, hence the wrapper. */
const httpOf = (services: IntegrationServices) => ({
  fetch: services.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init)),
  config: services.config,
});

export const redirectUri = (services: IntegrationServices, provider: ProviderId) =>
  `${services.publicBaseUrl.replace(/\/+$/, "")}/v1/integrations/${provider}/callback`;

/** `user:<id>` / `api_key:<id>`: who started an authorization, as the state and its row carry it. */
const actorKey = (actor: Actor) => `${actor.type}:${actor.id}`;

function actorFromKey(key: string): Actor {
  const [type, ...rest] = key.split(":");
  const id = rest.join(":");
  return type === "user" ? { type: "user", id, userId: id } : { type: type === "api_key" ? "api_key" : "system", id };
}

/** A provider's refusal as 422 INTEGRATION_PROVIDER_REFUSED with its words; anything else propagates. */
async function refusedUnlessAccepted<T>(provider: IntegrationProvider, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ProviderError)
      throw new DomainError("INTEGRATION_PROVIDER_REFUSED", 422, error.message, { provider: provider.id });
    throw error;
  }
}
