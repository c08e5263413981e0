import { createRoute, z, type RouteHandler } from "@hono/zod-openapi";
import { completeOAuth } from "../../../../../core/integrations/connections";
import { withTenant } from "../../../../../db/tenant";
import type { AppEnv } from "../../../context";
import { integrationServices } from "../run";

const query = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(4096).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

export const route = createRoute({
  method: "get",
  path: "/integrations/{provider}/callback",
  tags: ["Integrations"],
  operationId: "integrationOAuthCallback",
  summary: "OAuth callback (public)",
  description:
    "Where the provider sends the browser back. No bearer token: the signed, single-use `state` names the tenant and the user who started connecting. " +
    "A tampered, replayed, expired, foreign or missing state, a denied authorization or a failed code exchange shows an error page and stores nothing.",
  request: { params: z.object({ provider: z.string().max(40) }), query },
  // Public: the provider's redirect carries no bearer token.
  security: [],
  responses: {
    200: { description: "Connected: a page saying so", content: { "text/html": { schema: z.string() } } },
    400: { description: "Refused: a page saying why, with a stable code", content: { "text/html": { schema: z.string() } } },
  },
});

/** The result page: the console (or any opener) also gets it as a `postMessage`. */
function page(title: string, message: string, result: Record<string, unknown>): string {
  const text = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  // JSON inside <script>: "<" escaped so no value can close the element.
  const json = JSON.stringify(result).replace(/</g, "\\u003c");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${text(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933}h1{font-size:1.4rem}code{background:#f0f4f8;padding:0 .3rem}</style></head>
<body><h1>${text(title)}</h1><p>${text(message)}</p><p>You can close this window.</p>
<script>try{window.opener&&window.opener.postMessage(${json},"*")}catch(e){}</script></body></html>`;
}

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const { provider } = c.req.valid("param");
  const db = c.get("db")!;
  const { keyring } = c.get("services");
  const outcome = await completeOAuth(
    {
      services: integrationServices(c),
      keyring,
      inTenant: (tenantId, work) => withTenant(db, tenantId, work),
      requestId: c.get("requestId"),
    },
    provider,
    c.req.valid("query"),
  );
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
  if (outcome.ok) {
    const account = outcome.connection.account.name ?? outcome.connection.account.id;
    return c.html(
      page(
        `${outcome.provider.name} is connected`,
        `Connected to ${outcome.provider.name} account ${String(account)}. Your agents can now use its tools.`,
        {
          type: "integration.connected",
          provider: outcome.provider.id,
          connectionId: outcome.connection.id,
        },
      ),
      200,
    );
  }
  c.get("logger").log("warn", "integration.callback_refused", { provider, code: outcome.code });
  return c.html(
    page(`${outcome.provider?.name ?? "The integration"} was not connected`, `${outcome.message} (${outcome.code})`, {
      type: "integration.failed",
      provider,
      code: outcome.code,
    }),
    400,
  );
};
