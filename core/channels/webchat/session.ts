import { formatChannelAddress, type ChannelAddress } from "../address";
import { fromBase64, toBase64Url, utf8 } from "../../crypto/encoding";
import { constantTimeEqual, deriveSecret } from "../../crypto/hmac";

/**
 * A web chat visitor's session token: the channel address, a random session id (the
 * conversation's key), the page origin that opened it, the channel's rate limit and an expiry,
 * signed with HMAC-SHA256 under a key derived from the signing key. Sending and reading need no
 * database to know who is asking and from where; only opening a session reads the channel
 * (its allowed origins).
 *
 * Format: `wc1.<payload base64url JSON>.<mac base64url>`.
 */
export interface WebchatSession {
  tenantId: string;
  channelId: string;
  sessionId: string;
  origin: string;
  /** Messages per minute this session may send. */
  rate: number;
  /** Expiry, epoch seconds. */
  exp: number;
}

const PURPOSE = "webchat-session";

async function mac(signingKey: string, payload: string): Promise<string> {
  return deriveSecret(signingKey, PURPOSE, payload);
}

export async function signWebchatSession(signingKey: string, session: WebchatSession): Promise<string> {
  const payload = toBase64Url(utf8.encode(JSON.stringify(session)));
  return `wc1.${payload}.${await mac(signingKey, payload)}`;
}

/** The session, or undefined when the token is malformed, forged, expired or for another channel. */
export async function verifyWebchatSession(
  signingKey: string,
  token: string | undefined,
  address: ChannelAddress,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<WebchatSession | undefined> {
  if (!token || token.length > 2048) return undefined;
  const [version, payload, signature] = token.split(".");
  if (version !== "wc1" || !payload || !signature) return undefined;
  if (!constantTimeEqual(await mac(signingKey, payload), signature)) return undefined;
  let session: WebchatSession;
  try {
    session = JSON.parse(new TextDecoder().decode(fromBase64(payload))) as WebchatSession;
  } catch {
    return undefined;
  }
  if (typeof session.exp !== "number" || session.exp <= nowSeconds) return undefined;
  if (formatChannelAddress(session) !== formatChannelAddress(address)) return undefined;
  return session;
}

/**
 * Per-session rate limit, a sliding minute, kept in the isolate's memory: cheap, no database, and
 * enough to stop a runaway page or script; a visitor spread over many isolates gets at most the
 * limit per isolate (Cloudflare's rate-limiting binding or a Durable Object would make it global).
 */
export class SessionRateLimiter {
  readonly #hits = new Map<string, number[]>();

  constructor(private readonly maxSessions = 10_000) {}

  /** True when the session may send now (and counts it). */
  allow(sessionId: string, perMinute: number, nowMs = Date.now()): boolean {
    const recent = (this.#hits.get(sessionId) ?? []).filter((at) => nowMs - at < 60_000);
    if (recent.length >= perMinute) {
      this.#hits.set(sessionId, recent);
      return false;
    }
    recent.push(nowMs);
    if (!this.#hits.has(sessionId) && this.#hits.size >= this.maxSessions) {
      const oldest = this.#hits.keys().next().value;
      if (oldest !== undefined) this.#hits.delete(oldest);
    }
    this.#hits.set(sessionId, recent);
    return true;
  }
}
