import { z } from "zod";
import { ENDPOINT_DEFAULTS } from "../endpoints";

/**
 * The platform's side of the integrations, the same on the edge (connect, callback, test) and the
 * pool (refresh, tools): each provider's OAuth app and every provider base URL (core/endpoints.ts
 * defaults, overridden by the variable of the same name; tests point them at `test/fakes/`).
 */
export interface IntegrationConfig {
  HUBSPOT_API_BASE: string;
  HUBSPOT_AUTH_BASE: string;
  SALESFORCE_LOGIN_URL: string;
  STRIPE_API_BASE: string;
  STRIPE_CONNECT_BASE: string;
  HUBSPOT_CLIENT_ID?: string;
  HUBSPOT_CLIENT_SECRET?: string;
  SALESFORCE_CLIENT_ID?: string;
  SALESFORCE_CLIENT_SECRET?: string;
  /** Stripe Connect's client id (`ca_…`). */
  STRIPE_CLIENT_ID?: string;
  /** The platform's Stripe secret key: Connect's OAuth client secret. */
  STRIPE_SECRET_KEY?: string;
}

const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

/** The OAuth apps' variables, to spread into an environment schema (endpoints come with `endpointEnv`). */
export const integrationAppEnv = {
  HUBSPOT_CLIENT_ID: optional(z.string().min(1)),
  HUBSPOT_CLIENT_SECRET: optional(z.string().min(1)),
  SALESFORCE_CLIENT_ID: optional(z.string().min(1)),
  SALESFORCE_CLIENT_SECRET: optional(z.string().min(1)),
  STRIPE_CLIENT_ID: optional(z.string().min(1)),
  STRIPE_SECRET_KEY: optional(z.string().min(1)),
};

const KEYS = [
  ...(["HUBSPOT_API_BASE", "HUBSPOT_AUTH_BASE", "SALESFORCE_LOGIN_URL", "STRIPE_API_BASE", "STRIPE_CONNECT_BASE"] as const),
  ...(Object.keys(integrationAppEnv) as Array<keyof typeof integrationAppEnv>),
];

/** The integration part of a parsed environment (edge or pool). */
export function integrationConfig(env: Partial<Record<(typeof KEYS)[number], string | undefined>>): IntegrationConfig {
  const picked = Object.fromEntries(KEYS.filter((key) => env[key]).map((key) => [key, env[key]]));
  return {
    HUBSPOT_API_BASE: ENDPOINT_DEFAULTS.HUBSPOT_API_BASE,
    HUBSPOT_AUTH_BASE: ENDPOINT_DEFAULTS.HUBSPOT_AUTH_BASE,
    SALESFORCE_LOGIN_URL: ENDPOINT_DEFAULTS.SALESFORCE_LOGIN_URL,
    STRIPE_API_BASE: ENDPOINT_DEFAULTS.STRIPE_API_BASE,
    STRIPE_CONNECT_BASE: ENDPOINT_DEFAULTS.STRIPE_CONNECT_BASE,
    ...picked,
  };
}

/** A base URL without its trailing slash, so paths join with one. */
export const base = (url: string) => url.replace(/\/+$/, "");
