import { z } from "zod";

/**
 * Every third-party base URL the platform's own clients call, with its production default, in one
 * place. Each is overridden by the environment variable of the same name on the edge and the pool
 * (tests and `npm start` point them at the loopback fakes in `test/fakes/`). Model providers' URLs
 * are the LangChain classes' own defaults, overridden by `*_BASE_URL` (core/engine/providers.ts);
 * Auth0's JWKS URL derives from `AUTH0_ISSUER` unless `AUTH0_JWKS_URL` is set.
 */
export const ENDPOINT_DEFAULTS = {
  /** Telegram Bot API. */
  TELEGRAM_API_BASE: "https://api.telegram.org",
  /** WhatsApp Cloud API (Meta's Graph API), with its version. */
  WHATSAPP_API_BASE: "https://graph.facebook.com/v21.0",
} as const;

/** The environment fields for the endpoints, to spread into an environment schema. */
export const endpointEnv = {
  TELEGRAM_API_BASE: z.url().default(ENDPOINT_DEFAULTS.TELEGRAM_API_BASE),
  WHATSAPP_API_BASE: z.url().default(ENDPOINT_DEFAULTS.WHATSAPP_API_BASE),
};
