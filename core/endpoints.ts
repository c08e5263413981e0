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
  /** Twilio's REST API: Messages, IncomingPhoneNumbers and MMS media (SMS channels). */
  TWILIO_API_BASE: "https://api.twilio.com",
  /** HubSpot's REST API and token endpoint (`/oauth/v1/token`). */
  HUBSPOT_API_BASE: "https://api.hubapi.com",
  /** Where HubSpot users authorize an app (`/oauth/authorize`). */
  HUBSPOT_AUTH_BASE: "https://app.hubspot.com",
  /** Salesforce's login host: authorize, token and revoke under `/services/oauth2/`; sandboxes use test.salesforce.com. */
  SALESFORCE_LOGIN_URL: "https://login.salesforce.com",
  /** Stripe's REST API. */
  STRIPE_API_BASE: "https://api.stripe.com",
  /** Stripe Connect's OAuth host (`/oauth/authorize`, `/oauth/token`, `/oauth/deauthorize`). */
  STRIPE_CONNECT_BASE: "https://connect.stripe.com",
} as const;

/** The environment fields for the endpoints, to spread into an environment schema. */
export const endpointEnv = {
  TELEGRAM_API_BASE: z.url().default(ENDPOINT_DEFAULTS.TELEGRAM_API_BASE),
  WHATSAPP_API_BASE: z.url().default(ENDPOINT_DEFAULTS.WHATSAPP_API_BASE),
  TWILIO_API_BASE: z.url().default(ENDPOINT_DEFAULTS.TWILIO_API_BASE),
  HUBSPOT_API_BASE: z.url().default(ENDPOINT_DEFAULTS.HUBSPOT_API_BASE),
  HUBSPOT_AUTH_BASE: z.url().default(ENDPOINT_DEFAULTS.HUBSPOT_AUTH_BASE),
  SALESFORCE_LOGIN_URL: z.url().default(ENDPOINT_DEFAULTS.SALESFORCE_LOGIN_URL),
  STRIPE_API_BASE: z.url().default(ENDPOINT_DEFAULTS.STRIPE_API_BASE),
  STRIPE_CONNECT_BASE: z.url().default(ENDPOINT_DEFAULTS.STRIPE_CONNECT_BASE),
};
