/**
 * The floor for edge benchmarks: a Hono app that does nothing, run the same way as
 * the real edge (scripts/stack/edge.ts), so `scripts/bench/edge.ts` can tell framework and
 * runtime cost apart from our own.
 */
import { Hono } from "hono";

const app = new Hono();
app.post("/", (c) => c.text("ok"));
app.get("/healthz", (c) => c.text("ok"));

export default app;
