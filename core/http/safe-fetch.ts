import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import {
  bareHost,
  checkUrlLiteral,
  effectivePort,
  ipLiteral,
  isAllowlisted,
  isPublicAddress,
  refusedHost,
  UnsafeUrlError,
  type OutboundPolicy,
} from "./url-policy";

/**
 * The one client for tenant-defined outbound HTTP (tools, URL ingestion, integrations), Node only.
 * Before every connection, redirects included: http(s) only, an allowed port, every A and AAAA
 * record of the host public (url-policy.ts), then the connection goes to the address that was
 * checked (a pinned `lookup`, so a second DNS answer cannot rebind it to an internal address).
 * Bounded by a timeout over the whole exchange and a response size cap.
 */
export interface SafeFetchOptions extends OutboundPolicy {
  /** Resolves a hostname to all its addresses; default `dns.lookup(host, { all: true })`. Tests inject one. */
  resolve?: (hostname: string) => Promise<Array<{ address: string; family: number }>>;
}

export interface SafeRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whole exchange, redirects included. Default 10 s. */
  timeoutMs?: number;
  /** Response bodies larger than this fail with RESPONSE_TOO_LARGE. Default 1 MiB. */
  maxResponseBytes?: number;
  /** Redirects followed (each re-checked); 0 refuses any. Default 3. */
  maxRedirects?: number;
  /** Header names dropped when a redirect leaves the origin (credentials). `authorization` always is. */
  sensitiveHeaders?: string[];
}

export interface SafeResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The URL that answered, after redirects. */
  url: string;
  text(): string;
}

export type SafeFetchErrorCode =
  "UNSAFE_URL" | "DNS_FAILED" | "TIMEOUT" | "RESPONSE_TOO_LARGE" | "TOO_MANY_REDIRECTS" | "CONNECTION_FAILED";

/** Why an outbound request did not complete; the message names no address or secret. */
export class SafeFetchError extends Error {
  constructor(
    readonly code: SafeFetchErrorCode,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export type SafeFetch = (request: SafeRequest) => Promise<SafeResponse>;

const defaultResolve = (hostname: string) => dnsLookup(hostname, { all: true, verbatim: true });

export function createSafeFetch(options: SafeFetchOptions = {}): SafeFetch {
  const resolve = options.resolve ?? defaultResolve;
  return async (request) => {
    const timeoutMs = request.timeoutMs ?? 10_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const maxRedirects = request.maxRedirects ?? 3;
    let url = request.url;
    let method = (request.method ?? "GET").toUpperCase();
    let body = request.body;
    let headers = { ...request.headers };
    for (let hop = 0; ; hop++) {
      const target = await checkedTarget(url, options, resolve, deadline, timeoutMs);
      if (deadline.aborted) throw new SafeFetchError("TIMEOUT", `no answer within ${timeoutMs} ms`);
      const response = await exchange(target, {
        method,
        headers,
        body,
        maxBytes: request.maxResponseBytes ?? 1024 * 1024,
        signal: deadline,
        timeoutMs,
      });
      const location = response.headers.location;
      if (response.status >= 300 && response.status < 400 && location) {
        if (hop >= maxRedirects)
          throw new SafeFetchError(
            "TOO_MANY_REDIRECTS",
            maxRedirects === 0 ? "redirects are not followed" : `more than ${maxRedirects} redirects`,
          );
        const next = new URL(location, target.url);
        if (next.origin !== target.url.origin) {
          const drop = new Set(["authorization", "cookie", ...(request.sensitiveHeaders ?? []).map((h) => h.toLowerCase())]);
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !drop.has(name.toLowerCase())));
        }
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== "content-type"));
        }
        url = next.toString();
        continue;
      }
      return response;
    }
  };
}

interface Target {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** The URL checked and its host resolved once; every address must pass, the first is pinned. */
async function checkedTarget(
  input: string,
  policy: SafeFetchOptions,
  resolve: NonNullable<SafeFetchOptions["resolve"]>,
  deadline: AbortSignal,
  timeoutMs: number,
): Promise<Target> {
  let url: URL;
  try {
    url = checkUrlLiteral(input, policy);
  } catch (error) {
    if (error instanceof UnsafeUrlError) throw new SafeFetchError("UNSAFE_URL", error.message, error.reason);
    throw error;
  }
  return { url, ...(await checkedAddress(bareHost(url), effectivePort(url), policy, resolve, deadline, timeoutMs)) };
}

/**
 * A host (the URL's, or a tenant's SMTP server) resolved once and checked: every address must be
 * public unless `host` or `host:port` is allowlisted; the first is the one to connect to (pinned,
 * so no second DNS answer can rebind it). The port's policy is the caller's.
 */
export async function checkedAddress(
  host: string,
  port: number,
  policy: OutboundPolicy,
  resolve: NonNullable<SafeFetchOptions["resolve"]> = defaultResolve,
  deadline: AbortSignal = AbortSignal.timeout(10_000),
  timeoutMs = 10_000,
): Promise<{ address: string; family: 4 | 6 }> {
  const allowlisted = isAllowlisted(policy, host, port);
  if (!allowlisted) {
    const refused = refusedHost(host);
    if (refused) throw new SafeFetchError("UNSAFE_URL", "The host is private, reserved or not a public name.", refused);
  }
  const literal = ipLiteral(host);
  let addresses: Array<{ address: string; family: number }>;
  if (literal !== undefined) {
    addresses = [{ address: literal, family: literal.includes(":") ? 6 : 4 }];
  } else {
    const timedOut = new Promise<never>((_, reject) => {
      const fail = () => reject(new SafeFetchError("TIMEOUT", `no answer within ${timeoutMs} ms`));
      if (deadline.aborted) fail();
      else deadline.addEventListener("abort", fail, { once: true });
    });
    try {
      addresses = await Promise.race([resolve(host), timedOut]);
    } catch (error) {
      if (error instanceof SafeFetchError) throw error;
      throw new SafeFetchError("DNS_FAILED", "The host could not be resolved.");
    }
    if (addresses.length === 0) throw new SafeFetchError("DNS_FAILED", "The host has no addresses.");
  }
  if (!allowlisted && addresses.some((entry) => !isPublicAddress(entry.address))) {
    throw new SafeFetchError("UNSAFE_URL", "The host resolves to a private or reserved address.", "address_not_allowed");
  }
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

function exchange(
  target: Target,
  options: {
    method: string;
    headers: Record<string, string>;
    body: string | undefined;
    maxBytes: number;
    signal: AbortSignal;
    timeoutMs: number;
  },
): Promise<SafeResponse> {
  // The connection uses the checked address and nothing else: no second lookup can rebind it.
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all)
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<SafeResponse>((resolvePromise, reject) => {
    const req = send(
      target.url,
      {
        method: options.method,
        headers: {
          ...options.headers,
          ...(options.body !== undefined ? { "content-length": String(Buffer.byteLength(options.body)) } : {}),
        },
        lookup: pinned,
        signal: options.signal,
        agent: false,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            res.destroy();
            req.destroy();
            reject(new SafeFetchError("RESPONSE_TOO_LARGE", `the response is larger than ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const body = new Uint8Array(Buffer.concat(chunks));
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers))
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
          resolvePromise({
            status: res.statusCode ?? 0,
            headers,
            body,
            url: target.url.toString(),
            text: () => new TextDecoder().decode(body),
          });
        });
        res.on("error", (error) => reject(mapError(error, options)));
      },
    );
    req.on("error", (error) => reject(mapError(error, options)));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function mapError(error: Error, options: { signal: AbortSignal; timeoutMs: number }): SafeFetchError {
  if (error instanceof SafeFetchError) return error;
  if (options.signal.aborted || error.name === "AbortError")
    return new SafeFetchError("TIMEOUT", `no answer within ${options.timeoutMs} ms`);
  return new SafeFetchError("CONNECTION_FAILED", "The connection failed.");
}
