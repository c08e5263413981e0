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

/** A sliding minute of events: the counting shared by the per-isolate and the global limiter. */
export class SlidingWindow {
  #hits: number[] = [];

  /** True when one more event fits `perMinute` (and counts it). */
  allow(perMinute: number, nowMs = Date.now()): boolean {
    this.#hits = this.#hits.filter((at) => nowMs - at < 60_000);
    if (this.#hits.length >= perMinute) return false;
    this.#hits.push(nowMs);
    return true;
  }
}

/**
 * Sliding-minute limits per key, kept in the isolate's memory: the fallback when the edge has no
 * `WEBCHAT_LIMITER` Durable Object binding (tests that run the app in Node). A visitor spread over
 * many isolates gets at most the limit per isolate; the Durable Object makes it global.
 */
export class SessionRateLimiter {
  readonly #windows = new Map<string, SlidingWindow>();

  constructor(private readonly maxKeys = 10_000) {}

  /** True when the key may act now (and counts it). */
  allow(key: string, perMinute: number, nowMs = Date.now()): boolean {
    let window = this.#windows.get(key);
    if (!window) {
      if (this.#windows.size >= this.maxKeys) {
        const oldest = this.#windows.keys().next().value;
        if (oldest !== undefined) this.#windows.delete(oldest);
      }
      window = new SlidingWindow();
      this.#windows.set(key, window);
    }
    return window.allow(perMinute, nowMs);
  }
}
