import { Hono } from "hono";
import type { AppEnv } from "../context";
import { CONSOLE_HEADERS, consoleCsp } from "../console-csp";
import { errorResponse } from "../errors";

interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}

/**
 * The console's page (`/console/`, `run_worker_first` in wrangler.toml): the static asset, with the
 * CSP of this deployment (Auth0's origin allowed for the token exchange when Auth0 signs in). Every
 * other console file is served by Workers static assets with `_headers`.
 */
export const consoleRoutes = new Hono<AppEnv>().get("/console/", async (c) => {
  const assets = c.env.ASSETS as AssetsBinding | undefined;
  if (!assets) return errorResponse(c, 404, "NOT_FOUND", "The console is not deployed here.");
  const page = await assets.fetch(c.req.raw);
  const { config } = c.get("services");
  const headers = new Headers(page.headers);
  headers.set(
    "content-security-policy",
    consoleCsp(config.AUTH0_ISSUER && config.AUTH0_CONSOLE_CLIENT_ID ? new URL(config.AUTH0_ISSUER).origin : undefined),
  );
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) headers.set(name, value);
  return new Response(page.body, { status: page.status, headers });
});
