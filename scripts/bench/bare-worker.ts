/**
 * The floor for edge benchmarks: a Hono app that does nothing, run the same way as
 * the real edge (scripts/stack/edge.ts), so `scripts/bench/edge.ts` can tell framework and
 * runtime cost apart from our own.
 */
import { Hono } from "hono";

const app = new Hono();
// The body is read, as the webhook reads its own: workerd closes a keep-alive connection whose
// request body was left unread (`wrangler dev` drains it with a middleware of its own; the local
// edge runs the deploy bundle, which has none), and a new connection per request would measure
// connection set-up instead of the route.
app.post("/", async (c) => {
  await c.req.arrayBuffer();
  return c.text("ok");
});
app.get("/healthz", (c) => c.text("ok"));

export default app;
