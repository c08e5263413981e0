import { and, eq, sql } from "drizzle-orm";
import type { Database, Transaction } from "../../db/client";
import { alerts, integrationConnections, type IntegrationConnection } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { openCredentials, sealCredentials, type Keyring } from "../crypto/secrets";
import type { IntegrationConfig } from "./config";
import { refreshGrant } from "./oauth";
import { integrationProvider } from "./registry";
import { jwtBearerGrant } from "./salesforce";
import { ProviderError, type ProviderAccess, type ProviderId, type StoredCredentials } from "./types";

/** Refresh when less than this is left of an access token's life. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface AccessDependencies {
  keyring: Keyring;
  config: IntegrationConfig;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The secret-context owner of a connection's sealed credentials. */
export const connectionOwner = (connectionId: string) => `integration:${connectionId}`;

/** The connection cannot be used until the tenant connects it again (revoked, expired grant): tools say "not connected". */
export class NotConnectedError extends Error {
  constructor(
    readonly provider: string,
    readonly reason: string,
  ) {
    super(`${provider} is not connected: ${reason}`);
    this.name = "NotConnectedError";
  }
}

export interface ConnectionAccess {
  access: ProviderAccess;
  /** The token version this access is; a 401 with it asks for a refresh past it. */
  version: number;
  connection: IntegrationConnection;
}

/**
 * A usable access token for the tenant's connection to `provider`, refreshed first when it has under
 * {@link REFRESH_MARGIN_MS} left, or when `staleVersion` is the current version (the caller got a 401
 * with it). The row is locked (`FOR UPDATE`) while a refresh runs, so one refresh happens at a time
 * per connection across every process: the others wait, then find the new token and use it. A
 * rotated refresh token is stored in the same update. A refresh refused for good marks the
 * connection `needs_reauth` and raises a tenant alert (committed), then throws {@link NotConnectedError};
 * a provider that cannot be reached throws its ProviderError and changes nothing.
 */
export async function connectionAccess(
  deps: AccessDependencies & { db: Database },
  tenantId: string,
  where: ConnectionSelector,
  options: { staleVersion?: number } = {},
): Promise<ConnectionAccess> {
  return accessFrom(await withTenant(deps.db, tenantId, (tx) => lockedAccess(tx, deps, tenantId, where, options)), where, deps.config);
}

/** {@link connectionAccess} inside a transaction the caller holds (an admin verb's): the lock lasts until it ends. */
export async function connectionAccessIn(
  tx: Transaction,
  deps: AccessDependencies,
  tenantId: string,
  where: ConnectionSelector,
): Promise<ConnectionAccess> {
  return accessFrom(await lockedAccess(tx, deps, tenantId, where, {}), where, deps.config);
}

type ConnectionSelector = { provider: ProviderId } | { connectionId: string };

function accessFrom(
  outcome: Awaited<ReturnType<typeof lockedAccess>>,
  where: ConnectionSelector,
  config: IntegrationConfig,
): ConnectionAccess {
  const providerName = "provider" in where ? integrationProvider(where.provider).name : "The integration";
  if (outcome.kind === "missing") throw new NotConnectedError(providerName, "no connection has been made");
  if (outcome.kind === "needs_reauth")
    throw new NotConnectedError(integrationProvider(outcome.row.provider as ProviderId).name, outcome.reason);
  return { access: accessOf(outcome.credentials, config), version: outcome.row.tokenVersion, connection: outcome.row };
}

async function lockedAccess(
  tx: Transaction,
  deps: AccessDependencies,
  tenantId: string,
  where: ConnectionSelector,
  options: { staleVersion?: number },
) {
  const now = deps.now ?? Date.now;
  const [row] = await tx
    .select()
    .from(integrationConnections)
    .where(
      and(
        eq(integrationConnections.tenantId, tenantId),
        "provider" in where ? eq(integrationConnections.provider, where.provider) : eq(integrationConnections.id, where.connectionId),
      ),
    )
    .for("update");
  if (!row) return { kind: "missing" as const };
  const provider = integrationProvider(row.provider as ProviderId);
  if (row.status === "needs_reauth")
    return { kind: "needs_reauth" as const, row, reason: row.lastError ?? "the connection must be made again" };
  const context = { tenantId, owner: connectionOwner(row.id) };
  const credentials = await openCredentials<StoredCredentials>(deps.keyring, context, row.credentials);
  const expiring = row.accessExpiresAt !== null && row.accessExpiresAt.getTime() - now() < REFRESH_MARGIN_MS;
  const refused = options.staleVersion !== undefined && options.staleVersion === row.tokenVersion;
  if (!expiring && !refused) return { kind: "ok" as const, row, credentials };

  let refreshed: { credentials: StoredCredentials; expiresInSeconds?: number };
  try {
    if (credentials.refreshToken) {
      const response = await refreshGrant(provider, deps.config, credentials.refreshToken, deps.fetch ? { fetch: deps.fetch } : {});
      refreshed = {
        credentials: provider.oauth.credentials(response, deps.config, credentials),
        ...(typeof response.expires_in === "number" ? { expiresInSeconds: response.expires_in } : {}),
      };
      refreshed.expiresInSeconds ??= provider.oauth.defaultLifetimeSeconds;
    } else if (credentials.jwtBearer) {
      refreshed = { ...(await jwtBearerGrant(credentials.jwtBearer, deps.config, deps.fetch ?? fetch)), expiresInSeconds: 7200 };
    } else {
      throw new ProviderError(`${provider.name} refused the stored credentials and they cannot be renewed here.`, 401, { auth: true });
    }
  } catch (error) {
    if (!(error instanceof ProviderError) || !error.options.auth) throw error;
    const reason = error.message;
    await tx
      .update(integrationConnections)
      .set({ status: "needs_reauth", lastError: reason, updatedAt: sql`now()` })
      .where(and(eq(integrationConnections.tenantId, tenantId), eq(integrationConnections.id, row.id)));
    await tx
      .insert(alerts)
      .values({
        tenantId,
        kind: "integration.needs_reauth",
        dedupeKey: `${row.id}:${row.tokenVersion}`,
        details: { provider: row.provider, connectionId: row.id, reason },
      })
      .onConflictDoNothing();
    return { kind: "needs_reauth" as const, row, reason };
  }
  const sealed = await sealCredentials(deps.keyring, context, refreshed.credentials);
  const [updated] = await tx
    .update(integrationConnections)
    .set({
      credentials: sealed,
      tokenVersion: row.tokenVersion + 1,
      accessExpiresAt: refreshed.expiresInSeconds ? new Date(now() + refreshed.expiresInSeconds * 1000) : null,
      lastRefreshedAt: sql`now()`,
      lastError: null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(integrationConnections.tenantId, tenantId), eq(integrationConnections.id, row.id)))
    .returning();
  return { kind: "ok" as const, row: updated!, credentials: refreshed.credentials };
}

export function accessOf(credentials: StoredCredentials, config: IntegrationConfig): ProviderAccess {
  return {
    accessToken: credentials.accessToken,
    ...(credentials.instanceUrl ? { instanceUrl: credentials.instanceUrl } : {}),
    ...(credentials.accountId ? { accountId: credentials.accountId } : {}),
    config,
  };
}
