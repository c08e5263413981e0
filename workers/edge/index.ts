import { newApp } from "./app";
import type { Env } from "./env";

const app = newApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
