import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { deriveSecret } from "../core/crypto/hmac";

const localKeys = z.object({
  WEBHOOK_SIGNING_KEY: z.string().min(32),
  SECRETS_KEYRING: z.string().min(1),
});

export type LocalKeys = z.infer<typeof localKeys>;

/** Fresh random keys: a webhook signing key and a one-key keyring for secrets at rest. */
export function generateKeys(): LocalKeys {
  return {
    WEBHOOK_SIGNING_KEY: randomBytes(32).toString("base64"),
    SECRETS_KEYRING: `local1:${randomBytes(32).toString("base64")}`,
  };
}

/**
 * The local stack's keys, made on first start and kept (mode 0600) under `.data/` so a restart
 * can still decrypt stored secrets and verify the webhooks Telegram was given. Environment
 * variables of the same names win, as in production.
 */
export async function loadOrCreateKeys(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalKeys> {
  let keys: LocalKeys;
  try {
    keys = localKeys.parse(JSON.parse(await readFile(file, "utf8")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${file} is unreadable: delete it to make new keys`, { cause: error });
    }
    keys = generateKeys();
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
    await chmod(file, 0o600);
  }
  return {
    WEBHOOK_SIGNING_KEY: env.WEBHOOK_SIGNING_KEY || keys.WEBHOOK_SIGNING_KEY,
    SECRETS_KEYRING: env.SECRETS_KEYRING || keys.SECRETS_KEYRING,
  };
}

/**
 * The local stack's stand-in for the platform's Meta app secret: derived from the signing key, so
 * the edge and `npm run chat -- --channel whatsapp` agree on it with nothing more stored.
 */
export function localWhatsAppAppSecret(keys: Pick<LocalKeys, "WEBHOOK_SIGNING_KEY">): Promise<string> {
  return deriveSecret(keys.WEBHOOK_SIGNING_KEY, "local-whatsapp-app-secret", "demo");
}
