import { v5 as uuidv5 } from "uuid";
import { z } from "zod";
import { tenantOwnedTableNames } from "../../db/schema";

type TenantOwnedTable = (typeof tenantOwnedTableNames)[number];

/**
 * The tenant export archive: an uncompressed tar holding `manifest.json` first, then one gzipped
 * JSON Lines file per table (`<table>.jsonl.gz`, one row per line as PostgreSQL's `to_jsonb` gives
 * it), in foreign-key order so an import can insert them in the order they come.
 *
 * What never leaves: API keys, invitations, sign-in links and OAuth states (credentials or tokens to
 * the tenant), the secret columns below, and any sealed envelope (`v1.<key id>.<iv>.<ciphertext>`)
 * found anywhere in a row, JSON included, which becomes null.
 *
 * NOT_EXPORTED: the tenant-owned tables an export leaves out, and why; every other one is exported.
 */
export const NOT_EXPORTED = {
  api_keys: "credentials to the tenant's admin API",
  invitations: "pending invitations carry acceptance tokens",
  sign_in_links: "one-time sign-in tokens",
  oauth_states: "in-flight OAuth handshakes",
  data_transfers: "the exports and imports themselves",
  usage_reports: "the platform's own billing records (what was reported to its Stripe account)",
  usage_months: "running totals the database keeps from the usage records (an import's records rebuild them)",
  usage_month_conversations: "kept with usage_months from the usage records",
} as const satisfies Partial<Record<TenantOwnedTable, string>>;

/** Every other tenant-owned table, in the schema list's foreign-key order (an import inserts in it). */
export const EXPORT_TABLES = tenantOwnedTableNames.filter((table): table is ExportTable => !(table in NOT_EXPORTED));
export type ExportTable = Exclude<TenantOwnedTable, keyof typeof NOT_EXPORTED>;

/** Columns that hold secrets (sealed or hashed): exported as null. */
export const SECRET_COLUMNS: Partial<Record<ExportTable, string[]>> = {
  channels: ["credentials"],
  tools: ["auth_config"],
  integration_connections: ["credentials"],
};

/**
 * Tables an import does not write: members are people with their own sign-in (the importer becomes
 * the new tenant's admin and invites the others), and integration connections need their OAuth
 * tokens again (reconnect them). Both are still in the archive, as a record.
 */
export const NOT_IMPORTED: ReadonlySet<string> = new Set(["memberships", "integration_connections"]);

export const exportManifest = z.object({
  format: z.literal("agent-platform-tenant-export"),
  version: z.literal(1),
  exportedAt: z.string(),
  tenant: z.object({ id: z.uuid(), name: z.string(), slug: z.string(), settings: z.record(z.string(), z.unknown()) }),
  tables: z.array(
    z.object({
      name: z.enum(EXPORT_TABLES as [ExportTable, ...ExportTable[]]),
      file: z.string(),
      rows: z.number().int().nonnegative(),
      /** SHA-256 of the uncompressed JSON Lines. */
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
  excluded: z.object({ tables: z.record(z.string(), z.string()), columns: z.record(z.string(), z.array(z.string())) }),
});
export type ExportManifest = z.infer<typeof exportManifest>;

const SEALED = /^v1\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** An envelope inside a longer text: a webhook URL's `?s=` (SMS and voice channels' Twilio URLs, Stripe's). */
const SEALED_INSIDE = /v1\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}/g;
/**
 * Keys of JSON columns that hold a capability for this platform only: a stored message's
 * `replyUrl` (its token lets the platform speak into a call or push into a web chat session).
 */
const SECRET_JSON_KEYS: ReadonlySet<string> = new Set(["replyUrl"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The row as it goes into the archive: secret columns and every sealed envelope (at any depth) as null. */
export function scrubRow(table: ExportTable, row: Record<string, unknown>): Record<string, unknown> {
  const out = scrubSealed(row) as Record<string, unknown>;
  for (const column of SECRET_COLUMNS[table] ?? []) if (column in out) out[column] = null;
  return out;
}

/**
 * Any value with every sealed envelope in it, at any depth, as null (a tenant's settings, a row);
 * an envelope inside a longer text (a URL) is cut out of it, and reply URLs are dropped.
 */
export function scrubSealed(value: unknown): unknown {
  return deepMap(dropKeys(value), (text) => (SEALED.test(text) ? null : text.replace(SEALED_INSIDE, "")));
}

function dropKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropKeys);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).flatMap(([key, inner]) => (SECRET_JSON_KEYS.has(key) ? [] : [[key, dropKeys(inner)]])));
}

/**
 * The id a row of the export gets in the importing tenant: a UUID v5 of the old id in the new
 * tenant's namespace. Deterministic, so references (foreign keys, ids inside JSON such as an
 * agent's attached knowledge bases) are rewritten row by row with no table of pairs held in memory,
 * and a retried import writes the same ids.
 */
export function remapId(oldId: string, newTenantId: string): string {
  return uuidv5(oldId.toLowerCase(), newTenantId);
}

/**
 * Rewrites a row for the new tenant: the old tenant id becomes the new one, and every UUID that is
 * the id of an exported row (`knownIds`), in a column or anywhere inside JSON, becomes its
 * {@link remapId}. Other UUIDs (users, who are global) stay as they are.
 */
export function remapRow(
  row: Record<string, unknown>,
  ids: { oldTenantId: string; newTenantId: string; knownIds: ReadonlySet<string> },
): Record<string, unknown> {
  return deepMap(row, (value) => {
    if (!UUID.test(value)) return value;
    const lower = value.toLowerCase();
    if (lower === ids.oldTenantId) return ids.newTenantId;
    return ids.knownIds.has(lower) ? remapId(lower, ids.newTenantId) : value;
  }) as Record<string, unknown>;
}

function deepMap(value: unknown, onString: (value: string) => unknown): unknown {
  if (typeof value === "string") return onString(value);
  if (Array.isArray(value)) return value.map((item) => deepMap(item, onString));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, deepMap(item, onString)]));
  }
  return value;
}
