import { Hono } from "hono";
import type { AppEnv } from "../context";

/** Liveness for load balancers and the local launcher; touches nothing downstream. */
export const healthRoutes = new Hono<AppEnv>().get("/healthz", (c) => c.json({ status: "ok" }));
