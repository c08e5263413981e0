import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { tenants } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { requirePermission } from "../access/permissions";
import type { Keyring } from "../crypto/secrets";
import { sealProviderKey } from "../engine/credentials";
import { readTenantSettings, tenantSettings } from "./settings";
import { InvalidRequestError, NotFoundError } from "../errors";

export const KEYED_PROVIDERS = ["openai", "gemini", "groq", "bedrock"] as const;
export type KeyedProvider = (typeof KEYED_PROVIDERS)[number];

/** An API key (OpenAI, Gemini, Groq) or AWS credentials (Bedrock). */
export const providerKeyInput = z.union([
  z.object({ apiKey: z.string().trim().min(8).max(512) }).strict(),
  z
    .object({
      accessKeyId: z.string().trim().min(16).max(128),
      secretAccessKey: z.string().trim().min(16).max(256),
      sessionToken: z.string().trim().min(1).max(4096).optional(),
    })
    .strict(),
]);
export type ProviderKeyInput = z.infer<typeof providerKeyInput>;

/** Which providers have a tenant key: the only thing the API ever says about them. */
export const providerKeyStatus = z.object(
  Object.fromEntries(KEYED_PROVIDERS.map((p) => [p, z.object({ configured: z.boolean() })])) as {
    [P in KeyedProvider]: z.ZodObject<{ configured: z.ZodBoolean }>;
  },
);
export type ProviderKeyStatus = z.infer<typeof providerKeyStatus>;

function statusOf(settings: unknown): ProviderKeyStatus {
  const keys = readTenantSettings(settings).providerKeys;
  return Object.fromEntries(KEYED_PROVIDERS.map((p) => [p, { configured: Boolean(keys[p]) }])) as ProviderKeyStatus;
}

async function currentSettings(ctx: AccessContext) {
  const [row] = await ctx.tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, ctx.tenantId));
  if (!row) throw new NotFoundError("tenant");
  return row.settings;
}

export async function getProviderKeys({ ctx }: { ctx: AccessContext; input?: undefined }): Promise<ProviderKeyStatus> {
  requirePermission(ctx, "settings:read");
  return statusOf(await currentSettings(ctx));
}

/**
 * Seals and stores the tenant's own key for a provider (used before the platform's). The key is
 * encrypted bound to this tenant and provider; the audit record says only that it changed.
 */
export function setProviderKey(keyring: Keyring) {
  return async ({
    ctx,
    input,
  }: {
    ctx: AccessContext;
    input: { provider: KeyedProvider; key: ProviderKeyInput };
  }): Promise<ProviderKeyStatus> => {
    requirePermission(ctx, "settings:write");
    const { provider, key } = input;
    const isAws = "accessKeyId" in key;
    if (isAws !== (provider === "bedrock")) {
      throw new InvalidRequestError(
        provider === "bedrock" ? "Bedrock takes accessKeyId and secretAccessKey." : "This provider takes apiKey.",
      );
    }
    const sealed =
      provider === "bedrock" && isAws
        ? await sealProviderKey(keyring, ctx.tenantId, "bedrock", key)
        : await sealProviderKey(keyring, ctx.tenantId, provider as Exclude<KeyedProvider, "bedrock">, (key as { apiKey: string }).apiKey);
    return writeKeys(ctx, provider, sealed);
  };
}

export async function removeProviderKey({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { provider: KeyedProvider };
}): Promise<ProviderKeyStatus> {
  requirePermission(ctx, "settings:write");
  return writeKeys(ctx, input.provider, undefined);
}

async function writeKeys(ctx: AccessContext, provider: KeyedProvider, sealed: string | undefined): Promise<ProviderKeyStatus> {
  const stored = await currentSettings(ctx);
  const before = statusOf(stored);
  const settings = readTenantSettings(stored);
  const providerKeys = { ...settings.providerKeys };
  if (sealed) providerKeys[provider] = sealed;
  else delete providerKeys[provider];
  const next = tenantSettings.parse({ ...settings, providerKeys });
  await ctx.tx
    .update(tenants)
    .set({ settings: next, updatedAt: sql`now()` })
    .where(eq(tenants.id, ctx.tenantId));
  const after = statusOf(next);
  await recordAudit(ctx, {
    action: sealed ? "provider_key.set" : "provider_key.remove",
    resourceType: "tenant",
    resourceId: ctx.tenantId,
    before,
    after,
  });
  return after;
}
