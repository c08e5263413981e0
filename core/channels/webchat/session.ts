import { formatChannelAddress, type ChannelAddress } from "../address";
import { jwtVerify, SignJWT } from "jose";
import { fromBase64 } from "../../crypto/encoding";
import { deriveSecret } from "../../crypto/hmac";

/**
 * A web chat visitor's session token: a JWT (jose, HS256 only) carrying the channel address (as the
 * audience and in the claims), a random session id (the conversation's key), the page origin that
 * opened it, the channel's rate limit and an expiry, signed with a key derived from the signing
 * key. Sending and reading need no database to know who is asking and from where; only opening a
 * session reads the channel (its allowed origins).
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
  /** The console's playground: answered by the agent's draft (only a signed-in member can open such a session). */
  draft?: true;
}

const PURPOSE = "webchat-session";
const ISSUER = "agent-platform/webchat";

async function sessionKey(signingKey: string): Promise<Uint8Array> {
  return fromBase64(await deriveSecret(signingKey, PURPOSE, "jwt-hs256"));
}

export async function signWebchatSession(signingKey: string, session: WebchatSession): Promise<string> {
  const { exp, ...claims } = session;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(formatChannelAddress(session))
    .setSubject(session.sessionId)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(await sessionKey(signingKey));
}

/** The session, or undefined when the token is malformed, forged, expired or for another channel. */
export async function verifyWebchatSession(
  signingKey: string,
  token: string | undefined,
  address: ChannelAddress,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<WebchatSession | undefined> {
  if (!token || token.length > 2048) return undefined;
  try {
    const { payload } = await jwtVerify(token, await sessionKey(signingKey), {
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: formatChannelAddress(address),
      currentDate: new Date(nowSeconds * 1000),
      clockTolerance: 0,
      requiredClaims: ["exp", "sub"],
    });
    const { tenantId, channelId, sessionId, origin, rate, exp, draft } = payload as Partial<WebchatSession>;
    if (typeof tenantId !== "string" || typeof channelId !== "string" || typeof sessionId !== "string") return undefined;
    if (typeof origin !== "string" || typeof rate !== "number" || typeof exp !== "number") return undefined;
    if (formatChannelAddress({ tenantId, channelId }) !== formatChannelAddress(address) || payload.sub !== sessionId) return undefined;
    return { tenantId, channelId, sessionId, origin, rate, exp, ...(draft === true ? { draft } : {}) };
  } catch {
    return undefined;
  }
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
