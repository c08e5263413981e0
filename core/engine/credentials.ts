import { decryptSecret, encryptSecret, type Keyring } from "../crypto/secrets";
import type { TenantSettings } from "../tenants/settings";

/** A tenant's provider keys, opened: held in memory for one turn, never logged or shown to a model. */
export interface ProviderCredentials {
  openai?: string;
  gemini?: string;
  groq?: string;
  bedrock?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

type KeyedProvider = keyof ProviderCredentials;

/** The associated data a provider key is bound to: this tenant, this provider. */
function secretContext(tenantId: string, provider: KeyedProvider) {
  return { tenantId, owner: `provider:${provider}` };
}

/**
 * Seals a provider key for `tenants.settings.providerKeys.<provider>` (the admin API calls this
 * on write). Bedrock takes `{ accessKeyId, secretAccessKey, sessionToken? }`.
 *
 * @example
 * settings.providerKeys.openai = await sealProviderKey(keyring, tenantId, "openai", "sk-...");
 */
export async function sealProviderKey<P extends KeyedProvider>(
  keyring: Keyring,
  tenantId: string,
  provider: P,
  value: NonNullable<ProviderCredentials[P]>,
): Promise<string> {
  return encryptSecret(keyring, secretContext(tenantId, provider), typeof value === "string" ? value : JSON.stringify(value));
}

/**
 * Opens the tenant's sealed provider keys. A key that cannot be opened (rotated away, copied from
 * another tenant) is left out, so the platform key or the next candidate is used; the caller gets
 * the names of such providers to log, never the envelope or any part of the key.
 */
export async function openProviderKeys(
  keyring: Keyring,
  tenantId: string,
  settings: Pick<TenantSettings, "providerKeys">,
): Promise<{ credentials: ProviderCredentials; unreadable: KeyedProvider[] }> {
  const credentials: ProviderCredentials = {};
  const unreadable: KeyedProvider[] = [];
  for (const provider of ["openai", "gemini", "groq", "bedrock"] as const) {
    const envelope = settings.providerKeys[provider];
    if (!envelope) continue;
    try {
      const plain = await decryptSecret(keyring, secretContext(tenantId, provider), envelope);
      if (provider === "bedrock") credentials.bedrock = JSON.parse(plain) as ProviderCredentials["bedrock"];
      else credentials[provider] = plain;
    } catch {
      unreadable.push(provider);
    }
  }
  return { credentials, unreadable };
}
