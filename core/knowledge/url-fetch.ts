import { createSafeFetch, SafeFetchError, type SafeFetch } from "../http/safe-fetch";
import { isPublicAddress, type OutboundPolicy } from "../http/url-policy";
import { IngestError } from "./parsers";

/**
 * Fetching URL sources for ingestion, through the platform's one SSRF-safe client (core/http):
 * http(s) only, every resolved address public, the checked address pinned for the connection,
 * redirects re-checked at each hop, ports 80/443 unless the policy allows more, size and time
 * capped. Failures become ingestion errors a person can read; they never name an address.
 */
export interface FetchedDocument {
  bytes: Uint8Array;
  contentType: string | null;
  finalUrl: string;
}

export type UrlFetcher = (url: string) => Promise<FetchedDocument>;

/** True for addresses a tenant's URL must never reach (the shared policy's view). */
export function isPrivateAddress(address: string): boolean {
  return !isPublicAddress(address);
}

export function createUrlFetcher(
  options: OutboundPolicy & { maxBytes?: number; timeoutMs?: number; safeFetch?: SafeFetch } = {},
): UrlFetcher {
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const safeFetch =
    options.safeFetch ??
    createSafeFetch({
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
      ...(options.allowedPorts ? { allowedPorts: options.allowedPorts } : {}),
    });
  return async (url) => {
    let response;
    try {
      response = await safeFetch({
        url,
        timeoutMs,
        maxResponseBytes: maxBytes,
        maxRedirects: 3,
        headers: { "user-agent": "agent-platform-knowledge/1", accept: "*/*" },
      });
    } catch (error) {
      throw new IngestError(describeFailure(error, { maxBytes, timeoutMs }));
    }
    if (response.status !== 200) throw new IngestError(`the URL answered HTTP ${response.status}`);
    return { bytes: response.body, contentType: response.headers["content-type"] ?? null, finalUrl: response.url };
  };
}

function describeFailure(error: unknown, limits: { maxBytes: number; timeoutMs: number }): string {
  if (!(error instanceof SafeFetchError)) return "the URL could not be fetched (network error)";
  switch (error.code) {
    case "UNSAFE_URL":
      return error.reason === "address_not_allowed" || error.reason === "host_not_allowed"
        ? "the URL's host resolves to a private or local address, which is not allowed"
        : `the URL is not allowed: ${error.message}`;
    case "DNS_FAILED":
      return "the URL's host could not be resolved";
    case "TIMEOUT":
      return `the URL did not answer within ${Math.round(limits.timeoutMs / 1000)} s`;
    case "RESPONSE_TOO_LARGE":
      return `the document at the URL is larger than ${Math.round(limits.maxBytes / 1024 / 1024)} MiB`;
    case "TOO_MANY_REDIRECTS":
      return "the URL redirects too many times";
    case "CONNECTION_FAILED":
      return "the URL could not be fetched (connection failed)";
  }
}
