import { afterEach, describe, expect, it, vi } from "vitest";
import { newApp } from "./app";

const env = {
  WEBHOOK_SIGNING_KEY: "k".repeat(44),
  SQS_ACCESS_KEY_ID: "test",
  SQS_SECRET_ACCESS_KEY: "test",
  INBOUND_QUEUE_URL: "http://127.0.0.1:1/000000000000/inbound.fifo",
  LOG_LEVEL: "info",
};

describe("edge request counters", () => {
  afterEach(() => vi.restoreAllMocks());

  it("log one edge.request line per request, with the route pattern and the request id", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    const response = await newApp().fetch(new Request("http://edge/healthz", { headers: { "x-request-id": "req-42" } }), env);
    expect(response.status).toBe(200);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === "edge.request");
    expect(entries).toEqual([
      expect.objectContaining({ level: "info", service: "edge", requestId: "req-42", route: "/healthz", method: "GET", status: 200 }),
    ]);
  });

  it("write an Analytics Engine data point when the binding exists; raw paths never become labels", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const points: unknown[] = [];
    const app = newApp();
    await app.fetch(new Request("http://edge/webhooks/telegram/not-an-address", { method: "POST" }), {
      ...env,
      EDGE_ANALYTICS: { writeDataPoint: (p: unknown) => points.push(p) },
    });
    expect(points).toEqual([
      {
        blobs: ["/webhooks/telegram/:channelId", "POST", "404"],
        doubles: [expect.any(Number)],
        indexes: ["/webhooks/telegram/:channelId"],
      },
    ]);
  });

  it("serve /metrics only with EDGE_METRICS=on (local), counting by route pattern", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const off = newApp();
    expect((await off.fetch(new Request("http://edge/metrics"), env)).status).toBe(404);

    const app = newApp();
    const local = { ...env, EDGE_METRICS: "on" };
    await app.fetch(new Request("http://edge/healthz"), local);
    await app.fetch(new Request("http://edge/healthz"), local);
    await app.fetch(new Request("http://edge/no/such/path/with-an-id-123"), local);
    const text = await (await app.fetch(new Request("http://edge/metrics"), local)).text();
    expect(text).toContain('edge_requests_total{route="/healthz",method="GET",status="200"} 2');
    expect(text).toContain('edge_requests_total{route="unmatched",method="GET",status="404"} 1');
    expect(text).not.toContain("with-an-id-123");
  });
});
