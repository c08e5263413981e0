import type { Context } from "hono";
import type { AccessContext, DomainServices, IntegrationServices } from "../../../../core/access/context";
import { withTenant } from "../../../../db/tenant";
import type { AppEnv } from "../../context";

/**
 * Runs a domain verb for the authenticated caller, in one transaction scoped to their tenant
 * (forced row-level security as `agent_app`): the verb's change and its audit record commit
 * together. Handlers only validate, call this, and shape the answer.
 */
export function runVerb<I, O>(
  c: Context<AppEnv>,
  verb: (args: { ctx: AccessContext; input: I }) => Promise<O>,
  input: I,
  /** Services this call adds (an import's document fetcher). */
  extra: Partial<DomainServices> = {},
): Promise<O> {
  const principal = c.get("principal");
  const db = c.get("db");
  if (!principal || !db) throw new Error("runVerb: authenticate() and database() must run first");
  const services = { ...domainServices(c), ...extra };
  return withTenant(db, principal.tenantId, (tx) => verb({ ctx: { ...principal, tx, requestId: c.get("requestId"), services }, input }));
}

/** The isolate's services (derived once, app.ts) as the verbs see them; our base URL defaults to the request's origin. */
function domainServices(c: Context<AppEnv>): DomainServices {
  const { config, keyring, toolUrlPolicy, alertWebhookPolicy, auth0Management, billing } = c.get("services");
  return {
    ...(keyring ? { keyring } : {}),
    billing,
    toolUrlPolicy,
    alertWebhookPolicy,
    channels: {
      signingKey: config.WEBHOOK_SIGNING_KEY,
      telegramApiBase: config.TELEGRAM_API_BASE,
      whatsappApiBase: config.WHATSAPP_API_BASE,
      twilioApiBase: config.TWILIO_API_BASE,
      publicBaseUrl: publicBaseUrl(c),
      emailDomain: config.EMAIL_DOMAIN,
    },
    integrations: integrationServices(c),
    ...(auth0Management
      ? { invitations: { via: "auth0" as const, auth0: auth0Management } }
      : config.LOCAL_SIGN_IN === "on"
        ? { invitations: { via: "link" as const, publicBaseUrl: publicBaseUrl(c) } }
        : {}),
  };
}

/** Our public base URL: PUBLIC_BASE_URL, else the request's origin. */
export function publicBaseUrl<E extends AppEnv>(c: Context<E>): string {
  return c.get("services").config.PUBLIC_BASE_URL ?? new URL(c.req.url).origin;
}

/** The integrations' OAuth apps, base URLs, state key and our callback's base URL, from the isolate's configuration. */
export function integrationServices(c: Context<AppEnv>): IntegrationServices {
  const { config, integrations } = c.get("services");
  return {
    config: integrations,
    signingKey: config.WEBHOOK_SIGNING_KEY,
    publicBaseUrl: publicBaseUrl(c),
  };
}
