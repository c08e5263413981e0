/**
 * The floor for edge benchmarks: a Hono app that does nothing, under the same
 * `wrangler dev` as the real edge, so `scripts/bench/edge.ts` can tell framework and
 * runtime cost apart from our own.
 */
import { Hono } from "hono";

const app = new Hono();
app.post("/", (c) => c.text("ok"));
app.get("/healthz", (c) => c.text("ok"));

export default app;
