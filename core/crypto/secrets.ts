import { remembered } from "../cache";
import { fromBase64, toBase64Url, utf8 } from "./encoding";

/**
 * Secrets at rest (channel tokens, tool credentials, integration tokens): AES-256-GCM under a
 * key-encryption key from the environment, with the tenant id and the owning record bound as
 * associated data so a ciphertext copied to another tenant or record fails to decrypt. The key id
 * travels in the envelope so keys can be rotated: old ids stay in the keyring until re-encrypted.
 *
 * Envelope format: `v1.<keyId>.<iv base64url>.<ciphertext base64url>`.
 */
export interface Keyring {
  /** Key id used for new encryptions. */
  currentKeyId: string;
  /** Raw 32-byte keys by id. */
  keys: Record<string, Uint8Array>;
}

export interface SecretContext {
  tenantId: string;
  /** What the secret belongs to, e.g. `channel:<uuid>`. */
  owner: string;
}

export class SecretDecryptionError extends Error {
  readonly code = "SECRET_DECRYPTION_FAILED";
}

/** Parses `SECRETS_KEYRING` ("id1:base64key,id2:base64key", first is current). */
export function parseKeyring(spec: string): Keyring {
  const entries = spec
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [id, key] = part.split(":");
      if (!id || !key || !/^[A-Za-z0-9_-]+$/.test(id)) throw new Error("SECRETS_KEYRING entries must be id:base64key");
      let bytes: Uint8Array;
      try {
        bytes = fromBase64(key);
      } catch {
        throw new Error(`SECRETS_KEYRING key ${id} must be 32 bytes, base64`);
      }
      if (bytes.length !== 32) throw new Error(`SECRETS_KEYRING key ${id} must be 32 bytes`);
      return [id, bytes] as const;
    });
  const first = entries[0];
  if (!first) throw new Error("SECRETS_KEYRING is empty");
  return { currentKeyId: first[0], keys: Object.fromEntries(entries) };
}

export async function encryptSecret(keyring: Keyring, context: SecretContext, plaintext: string): Promise<string> {
  const keyId = keyring.currentKeyId;
  const key = await importKey(keyring, keyId);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: associatedData(keyId, context) },
    key,
    utf8.encode(plaintext),
  );
  return ["v1", keyId, toBase64Url(iv), toBase64Url(new Uint8Array(sealed))].join(".");
}

export async function decryptSecret(keyring: Keyring, context: SecretContext, envelope: string): Promise<string> {
  const [version, keyId, iv, ciphertext] = envelope.split(".");
  if (version !== "v1" || !keyId || !iv || !ciphertext) throw new SecretDecryptionError("malformed secret envelope");
  const key = await importKey(keyring, keyId);
  try {
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(fromBase64(iv)), additionalData: associatedData(keyId, context) },
      key,
      new Uint8Array(fromBase64(ciphertext)),
    );
    return new TextDecoder().decode(opened);
  } catch {
    throw new SecretDecryptionError("secret could not be decrypted for this tenant and owner");
  }
}

/** Encrypts a JSON object of credentials. */
export async function sealCredentials(keyring: Keyring, context: SecretContext, value: object): Promise<string> {
  return encryptSecret(keyring, context, JSON.stringify(value));
}

export async function openCredentials<T>(keyring: Keyring, context: SecretContext, envelope: string): Promise<T> {
  return JSON.parse(await decryptSecret(keyring, context, envelope)) as T;
}

function associatedData(keyId: string, context: SecretContext): Uint8Array<ArrayBuffer> {
  return new Uint8Array(utf8.encode(`v1\u0000${keyId}\u0000${context.tenantId}\u0000${context.owner}`));
}

/** Imported (non-extractable) keys per keyring: every turn opens its channel's credentials. */
const importedKeys = new WeakMap<Keyring, Map<string, Promise<CryptoKey>>>();

function importKey(keyring: Keyring, keyId: string): Promise<CryptoKey> {
  const raw = keyring.keys[keyId];
  if (!raw) return Promise.reject(new SecretDecryptionError(`unknown key id ${keyId}`));
  let imported = importedKeys.get(keyring);
  if (!imported) importedKeys.set(keyring, (imported = new Map()));
  return remembered(imported, keyId, 64, () =>
    crypto.subtle.importKey("raw", new Uint8Array(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]),
  );
}
