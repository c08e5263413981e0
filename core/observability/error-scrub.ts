import { redactFields, redactSecrets } from "./log";

/** Headers an error report may carry; everything else (Authorization, cookies, signatures) is dropped. */
const ALLOWED_HEADERS = new Set(["user-agent", "x-request-id", "content-type", "content-length", "cf-ray"]);

/**
 * Scrubs an error-tracking event (Sentry's shape) before it leaves the process: no request body
 * (message contents), no cookies, no query string, only allow-listed headers, and every remaining
 * string through `redactSecrets`. Used as `beforeSend` by toucan-js at the edge and @sentry/node in
 * the pool.
 */
export function scrubErrorEvent<E extends object>(event: E): E {
  const copy = structuredClone(event) as E & {
    request?: { data?: unknown; cookies?: unknown; query_string?: unknown; headers?: Record<string, string>; url?: string };
    breadcrumbs?: unknown;
    user?: unknown;
  };
  if (copy.request) {
    delete copy.request.data;
    delete copy.request.cookies;
    delete copy.request.query_string;
    if (copy.request.url) copy.request.url = copy.request.url.split("?")[0]!;
    if (copy.request.headers) {
      copy.request.headers = Object.fromEntries(
        Object.entries(copy.request.headers).filter(([name]) => ALLOWED_HEADERS.has(name.toLowerCase())),
      );
    }
  }
  // Console breadcrumbs can hold anything a library printed; the log lines are the record.
  delete copy.breadcrumbs;
  delete copy.user;
  return redactFields(copy as Record<string, unknown>) as E;
}

export { redactSecrets };
