import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger, describeError } from "../../core/observability/log";
import { startFakeSentry, type FakeSentry } from "../../test/fakes/sentry";
import type { AppEnv } from "../edge/context";
import { edgeEnvSchema } from "../edge/env";
import { reportError } from "../edge/observability";
import { withErrorReporting } from "./error-reporting";

/** Sentry on both runtimes' SDKs against a loopback ingestion endpoint: ids attached, secrets and contents gone. */
let sentry: FakeSentry;
beforeAll(async () => {
  sentry = await startFakeSentry();
});
afterAll(async () => {
  await sentry?.close();
});

const waitFor = async (predicate: () => boolean) => {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
};

describe("error reporting", () => {
  it("pool: an error log line becomes a scrubbed Sentry event tagged with its ids (Node SDK)", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { logger, flush } = withErrorReporting(createLogger({ service: "pool" }), { dsn: sentry.dsn, environment: "test" });
    logger.child({ tenantId: "00000000-0000-4000-8000-000000000001", conversationId: "conv-1" }).log("error", "consumer.message_failed", {
      requestId: "req-9",
      ...describeError(new Error("401 Incorrect API key provided: sk-proj-abcdef1234567890")),
    });
    logger.log("info", "not.reported");
    await flush();
    await waitFor(() => sentry.events().length > 0);
    const events = sentry.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      level: "error",
      environment: "test",
      tags: { tenantId: "00000000-0000-4000-8000-000000000001", conversationId: "conv-1", requestId: "req-9" },
    });
    expect(JSON.stringify(events)).not.toContain("sk-proj-abcdef1234567890");
    vi.restoreAllMocks();
  });

  it("edge: an unhandled error is sent through toucan-js with the request id, without body, query or credentials", async () => {
    const before = sentry.envelopes().length;
    const config = edgeEnvSchema.parse({
      WEBHOOK_SIGNING_KEY: "k".repeat(32),
      SQS_ACCESS_KEY_ID: "x",
      SQS_SECRET_ACCESS_KEY: "y",
      INBOUND_QUEUE_URL: "http://127.0.0.1:1/q",
      SENTRY_DSN: sentry.dsn,
      SENTRY_ENVIRONMENT: "test",
    });
    const app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      c.set("requestId", "req-edge-1");
      c.set("services", { config } as AppEnv["Variables"]["services"]);
      await next();
    });
    app.post("/boom", () => {
      throw new Error("upstream refused key sk-live-abcdef1234567890");
    });
    app.onError((error, c) => {
      reportError(c, error);
      return c.text("internal", 500);
    });
    const response = await app.request("/boom?token=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", {
      method: "POST",
      headers: { authorization: "Bearer secret-bearer-value", "content-type": "application/json" },
      body: JSON.stringify({ text: "a private message" }),
    });
    expect(response.status).toBe(500);
    await waitFor(() => sentry.envelopes().length > before);
    const text = sentry.envelopes().slice(before).join("\n");
    expect(text).toContain("req-edge-1");
    for (const secret of ["sk-live-abcdef1234567890", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "secret-bearer-value", "a private message"]) {
      expect(text).not.toContain(secret);
    }
  });
});
