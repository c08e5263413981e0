import type { Context, MiddlewareHandler } from "hono";
import { Toucan } from "toucan-js";
import { scrubErrorEvent } from "../../core/observability/error-scrub";
import type { AppEnv } from "./context";

/** The part of a Workers Analytics Engine binding the edge uses. */
interface AnalyticsEngineDataset {
  writeDataPoint(point: { blobs?: string[]; doubles?: number[]; indexes?: string[] }): void;
}

/**
 * Request counts in this isolate, by route pattern, method and status: served at `/metrics` when
 * `EDGE_METRICS=on` (the local stack, scraped by `npm start -- --with-monitoring`). One isolate's
 * counts only, which locally is the whole edge.
 */
export class EdgeCounters {
  private readonly requests = new Map<string, { route: string; method: string; status: string; count: number; seconds: number }>();

  record(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${status}`;
    const entry = this.requests.get(key) ?? { route, method, status: String(status), count: 0, seconds: 0 };
    entry.count++;
    entry.seconds += seconds;
    this.requests.set(key, entry);
  }

  /** Prometheus text exposition format 0.0.4. */
  exposition(): string {
    const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
    const lines = [
      "# HELP edge_requests_total Requests answered by the edge, by route pattern, method and status.",
      "# TYPE edge_requests_total counter",
    ];
    const entries = [...this.requests.values()];
    for (const e of entries)
      lines.push(`edge_requests_total{route="${label(e.route)}",method="${e.method}",status="${e.status}"} ${e.count}`);
    lines.push(
      "# HELP edge_request_duration_seconds_sum Time spent answering, by route pattern.",
      "# TYPE edge_request_duration_seconds_sum counter",
    );
    for (const e of entries)
      lines.push(
        `edge_request_duration_seconds_sum{route="${label(e.route)}",method="${e.method}",status="${e.status}"} ${e.seconds.toFixed(6)}`,
      );
    return `${lines.join("\n")}\n`;
  }
}

/**
 * Counts every request in a form Cloudflare keeps: one `edge.request` log line (Workers Logs;
 * request id, tenant id when authenticated, route pattern, status, duration) and, when the
 * `EDGE_ANALYTICS` Analytics Engine binding exists, a data point (blobs: route, method, status;
 * double: duration; index: route). Route patterns, never raw paths, so channel addresses and ids
 * never become labels. With `EDGE_METRICS=on` the isolate's counters also feed `/metrics`.
 */
export function requestCounters(counters: EdgeCounters): MiddlewareHandler<AppEnv> {
  return async function requestCounters(c, next) {
    const started = Date.now();
    await next();
    // The matched route's pattern; a 404 that matched only middleware is "unmatched" (raw paths are unbounded).
    const route = !c.req.routePath || (c.res.status === 404 && c.req.routePath.endsWith("*")) ? "unmatched" : c.req.routePath;
    const seconds = (Date.now() - started) / 1000;
    const status = c.res.status;
    const config = c.get("services")?.config;
    if (config?.EDGE_METRICS === "on") counters.record(route, c.req.method, status, seconds);
    const dataset = (c.env as Record<string, unknown> | undefined)?.EDGE_ANALYTICS as AnalyticsEngineDataset | undefined;
    if (dataset && typeof dataset.writeDataPoint === "function") {
      dataset.writeDataPoint({ blobs: [route, c.req.method, String(status)], doubles: [seconds * 1000], indexes: [route] });
    }
    c.get("logger")?.log(status >= 500 ? "error" : "info", "edge.request", {
      route,
      method: c.req.method,
      status,
      durationMs: Math.round(seconds * 1000),
    });
  };
}

/**
 * Reports an unhandled error to Sentry through toucan-js when `SENTRY_DSN` is set: request id and
 * tenant id as tags, and the event scrubbed (no body, cookies or query string, allow-listed
 * headers, credential-shaped strings masked).
 */
export function reportError(c: Context<AppEnv>, error: unknown): void {
  const config = c.get("services")?.config;
  if (!config?.SENTRY_DSN) return;
  let context: { waitUntil(promise: Promise<unknown>): void } | undefined;
  try {
    context = c.executionCtx;
  } catch {
    context = undefined;
  }
  const sentry = new Toucan({
    dsn: config.SENTRY_DSN,
    environment: config.SENTRY_ENVIRONMENT,
    request: c.req.raw,
    ...(context ? { context } : {}),
    requestDataOptions: {
      allowedHeaders: ["user-agent", "x-request-id", "content-type", "cf-ray"],
      allowedSearchParams: false,
      allowedCookies: false,
    },
    beforeSend: (event) => scrubErrorEvent(event),
  });
  sentry.setTag("requestId", c.get("requestId"));
  const principal = c.get("principal");
  if (principal) sentry.setTag("tenantId", principal.tenantId);
  sentry.captureException(error);
}
