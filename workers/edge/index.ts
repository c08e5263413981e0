import { newApp } from "./app";
import { newEmailHandler } from "./email";
import type { Env } from "./env";

const app = newApp();
const email = newEmailHandler();

/** Durable Object classes the worker's bindings name (wrangler.toml `durable_objects`). */
export { WebchatRateLimiter } from "./durable/webchat-rate-limiter";
export { VoiceCall } from "./durable/voice-call";
export { WebchatStream } from "./durable/webchat-stream";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  email: (message, env) => email(message, env),
} satisfies ExportedHandler<Env>;
