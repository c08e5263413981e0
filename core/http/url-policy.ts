import ipaddr from "ipaddr.js";

/**
 * What tenant-defined outbound HTTP may reach. The default allows public unicast addresses on
 * ports 80 and 443 only; `allowedHosts` names exact exceptions (`host` or `host:port`) that skip
 * the address-range check (the platform's own services, or loopback test servers in tests). There
 * is no switch that weakens the default for everything.
 */
export interface OutboundPolicy {
  allowedHosts?: readonly string[];
  allowedPorts?: readonly number[];
}

export const DEFAULT_ALLOWED_PORTS: readonly number[] = [80, 443];

export type UnsafeUrlReason =
  "invalid_url" | "scheme_not_allowed" | "credentials_in_url" | "port_not_allowed" | "address_not_allowed" | "host_not_allowed";

/** A URL (or an address it resolves to) that tenant-defined HTTP must not reach. The message is safe to show. */
export class UnsafeUrlError extends Error {
  readonly code = "UNSAFE_URL";
  constructor(
    readonly reason: UnsafeUrlReason,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `TOOLS_ALLOWED_HOSTS`-style lists: comma-separated `host` or `host:port`, case-insensitive. */
export function parseHostList(spec: string | undefined): string[] {
  return (spec ?? "")
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
}

/** The URL's port, defaulted by scheme. */
export function effectivePort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** The hostname without IPv6 brackets, lower case. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

/** Whether `host:port` is named by the policy's allowlist (exactly, or the host without a port). */
export function isAllowlisted(policy: OutboundPolicy, host: string, port: number): boolean {
  const hosts = policy.allowedHosts ?? [];
  const name = host.includes(":") ? `[${host}]` : host;
  return hosts.includes(`${name}:${port}`) || hosts.includes(name) || hosts.includes(host);
}

/**
 * Whether an IP address (any form ipaddr.js parses: dotted, hex, octal, integer, shortened, IPv6,
 * IPv4-mapped) is a public unicast address. Everything ipaddr.js classifies otherwise is refused:
 * private, loopback, link-local (169.254.0.0/16 with the metadata address, fe80::/10),
 * carrier-grade NAT, multicast, broadcast, unspecified, reserved, unique-local (fc00::/7), and the
 * IPv6 forms that embed an IPv4 address (mapped and ISATAP by the embedded address; IPv4-compatible
 * ::/96, NAT64, 6to4 and Teredo whole).
 */
export function isPublicAddress(address: string): boolean {
  // ipaddr.js reads `::a.b.c.d` (IPv4-compatible) as if it were `::ffff:a.b.c.d` (mapped).
  if (/^::\d{1,3}(\.\d{1,3}){3}$/.test(address)) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return false;
  }
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return isPublicAddress(v6.toIPv4Address().toString());
    const parts = v6.parts;
    // IPv4-compatible (::/96, deprecated by RFC 4291, e.g. ::a9fe:a9fe = 169.254.169.254): refused
    // whole, as some stacks still route it to the IPv4 address.
    if (parts.slice(0, 6).every((part) => part === 0)) return false;
    // ISATAP interface ids (…:0:5efe:a.b.c.d, …:200:5efe:a.b.c.d) carry an IPv4 address too.
    if ((parts[4] === 0 || parts[4] === 0x200) && parts[5] === 0x5efe) {
      const embedded = `${parts[6]! >> 8}.${parts[6]! & 0xff}.${parts[7]! >> 8}.${parts[7]! & 0xff}`;
      if (!isPublicAddress(embedded)) return false;
    }
  }
  return parsed.range() === "unicast";
}

/** An IP literal in any form ipaddr.js knows, normalised; undefined for a hostname. */
export function ipLiteral(host: string): string | undefined {
  const bare = host.replace(/^\[|\]$/g, "");
  return ipaddr.isValid(bare) ? ipaddr.parse(bare).toString() : undefined;
}

/**
 * The checks that need no DNS, usable anywhere (the edge validates a tool's URL with these when it
 * is saved): http or https only, no user:password, an allowed port, and, for an IP literal, a
 * public address. Returns the parsed URL. A hostname is checked again after resolution, by the
 * SSRF-safe client, before every connection.
 */
export function checkUrlLiteral(input: string | URL, policy: OutboundPolicy = {}): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new UnsafeUrlError("invalid_url", "The URL is not valid.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UnsafeUrlError("scheme_not_allowed", "Only http and https URLs are allowed.");
  }
  if (url.username || url.password)
    throw new UnsafeUrlError("credentials_in_url", "Credentials in the URL are not allowed; use the tool's auth configuration.");
  const host = bareHost(url);
  const port = effectivePort(url);
  const allowlisted = isAllowlisted(policy, host, port);
  if (!allowlisted && !(policy.allowedPorts ?? DEFAULT_ALLOWED_PORTS).includes(port)) {
    throw new UnsafeUrlError("port_not_allowed", `Port ${port} is not allowed.`);
  }
  if (allowlisted) return url;
  // The WHATWG parser already turns 0x7f000001, 2130706433 and 127.1 into 127.0.0.1; ipaddr.js
  // classifies whatever form remains.
  const refused = refusedHost(host);
  if (refused === "address_not_allowed") throw new UnsafeUrlError(refused, "The URL points to a private or reserved address.");
  if (refused === "host_not_allowed") throw new UnsafeUrlError(refused, "The URL must name a public host.");
  return url;
}

/**
 * Why a host is refused before any DNS lookup, or undefined when only resolution can tell: an IP
 * literal that is not public (any form: the WHATWG parser turns 2130706433 and 0x7f000001 into
 * 127.0.0.1 first), `localhost` and its subdomains, a name without a dot, or a name under the
 * never-public `.local` (mDNS) and `.internal` suffixes.
 */
export function refusedHost(hostname: string): "address_not_allowed" | "host_not_allowed" | undefined {
  let host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  try {
    host = new URL(`http://${host.includes(":") ? `[${host}]` : host}/`).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return "host_not_allowed";
  }
  const literal = ipLiteral(host);
  if (literal !== undefined) return isPublicAddress(literal) ? undefined : "address_not_allowed";
  if (host === "localhost" || host.endsWith(".localhost") || !host.includes(".")) return "host_not_allowed";
  if (host.endsWith(".local") || host.endsWith(".internal")) return "host_not_allowed";
  return undefined;
}
