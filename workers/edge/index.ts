import { newApp } from "./app";
import type { Env } from "./env";

const app = newApp();

/** Durable Object classes the worker's bindings name (wrangler.toml `durable_objects`). */
export { WebchatRateLimiter } from "./durable/webchat-rate-limiter";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
