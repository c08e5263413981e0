import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import { IngestError } from "./parsers";

/**
 * Interim SSRF guard for URL sources, until the shared SSRF-safe client (core/http, tools issue)
 * lands: only http(s) on default-ish ports; every address a host resolves to, and every literal
 * address, must be public (no loopback, private, link-local, CGNAT, multicast, unspecified,
 * IPv4-mapped private); the check happens in the socket's `lookup`, so the address connected to is
 * the one checked (no DNS rebinding between check and connect); redirects are followed by hand (at
 * most 3) and checked the same way; at most `maxBytes`, within `timeoutMs`.
 */
export interface FetchedDocument {
  bytes: Uint8Array;
  contentType: string | null;
  finalUrl: string;
}

export type UrlFetcher = (url: string) => Promise<FetchedDocument>;

const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) blocked.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96], ["2001:db8::", 32]] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

/** True for addresses a tenant's URL must never reach. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, "ipv4");
    return blocked.check(address, "ipv6");
  }
  return true;
}

export function createUrlFetcher(options: { maxBytes?: number; timeoutMs?: number; allowAddress?: (address: string) => boolean } = {}): UrlFetcher {
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const allowed = options.allowAddress ?? ((address: string) => !isPrivateAddress(address));
  return async (start) => {
    let url = start;
    for (let hop = 0; hop <= 3; hop++) {
      const target = parseTarget(url);
      if (isIP(target.hostname.replace(/^\[|\]$/g, "")) && !allowed(target.hostname.replace(/^\[|\]$/g, ""))) {
        throw new IngestError("the URL points to a private or local address, which is not allowed");
      }
      const response = await get(target, allowed, timeoutMs);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        url = new URL(response.headers.location, target).toString();
        continue;
      }
      if (status !== 200) {
        response.resume();
        throw new IngestError(`the URL answered HTTP ${status}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response) {
        size += (chunk as Buffer).length;
        if (size > maxBytes) {
          response.destroy();
          throw new IngestError(`the document at the URL is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
        }
        chunks.push(chunk as Buffer);
      }
      return { bytes: new Uint8Array(Buffer.concat(chunks)), contentType: response.headers["content-type"] ?? null, finalUrl: url };
    }
    throw new IngestError("the URL redirects too many times");
  };
}

function parseTarget(url: string): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new IngestError("the URL is not valid");
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new IngestError("only http and https URLs can be fetched");
  if (target.username || target.password) throw new IngestError("URLs with credentials are not allowed");
  return target;
}

function get(target: URL, allowed: (address: string) => boolean, timeoutMs: number): Promise<IncomingMessage> {
  const lookup = (hostname: string, opts: object, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const bad = addresses.find((entry) => !allowed(entry.address));
      if (bad || addresses.length === 0) return callback(new IngestError("the URL's host resolves to a private or local address, which is not allowed"), "");
      if ((opts as { all?: boolean }).all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(target, { method: "GET", lookup: lookup as never, timeout: timeoutMs, headers: { "user-agent": "agent-platform-knowledge/1", accept: "*/*" } }, resolve);
    request.on("timeout", () => request.destroy(new IngestError(`the URL did not answer within ${Math.round(timeoutMs / 1000)} s`)));
    request.on("error", (error) => reject(error instanceof IngestError ? error : new IngestError(`the URL could not be fetched (${(error as NodeJS.ErrnoException).code ?? "network error"})`)));
    request.end();
  });
}
