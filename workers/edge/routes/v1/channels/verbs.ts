import type { Context } from "hono";
import { channelVerbs } from "../../../../../core/channels/manage";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";

/** The channel verbs with this isolate's keys and URLs; 503 when the edge has no keyring to seal credentials with. */
export function channelsFor(c: Context<AppEnv>) {
  const { config, keyring } = c.get("services");
  if (!keyring) throw new ApiError(503, "CHANNELS_UNAVAILABLE", "Channels cannot be managed here: the edge has no SECRETS_KEYRING.");
  return channelVerbs({
    keyring,
    signingKey: config.WEBHOOK_SIGNING_KEY,
    telegramApiBase: config.TELEGRAM_API_BASE,
    whatsappApiBase: config.WHATSAPP_API_BASE,
    publicBaseUrl: config.PUBLIC_BASE_URL ?? new URL(c.req.url).origin,
  });
}
