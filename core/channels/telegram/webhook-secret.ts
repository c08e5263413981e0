import { formatChannelAddress, type ChannelAddress } from "../address";
import { constantTimeEqual, deriveSecret } from "../../crypto/hmac";

const PURPOSE = "telegram-webhook-secret-token";

/**
 * The `secret_token` given to Telegram's `setWebhook` for one channel, and expected back in
 * `X-Telegram-Bot-Api-Secret-Token`. Telegram allows 1-256 characters of `A-Za-z0-9_-`;
 * base64url of an HMAC-SHA256 (43 characters) fits.
 */
export function telegramWebhookSecret(signingKey: string, address: ChannelAddress): Promise<string> {
  return deriveSecret(signingKey, PURPOSE, formatChannelAddress(address));
}

export async function verifyTelegramSecret(signingKey: string, address: ChannelAddress, presented: string | undefined): Promise<boolean> {
  const expected = await telegramWebhookSecret(signingKey, address);
  return constantTimeEqual(expected, presented ?? "");
}
