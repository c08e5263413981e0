import { SessionRateLimiter } from "../../core/channels/webchat/session";
import type { Logger } from "../../core/observability/log";
import type { WebchatRateLimiter } from "./durable/webchat-rate-limiter";
import type { Env } from "./env";

/** Counts web chat events per key (a session, a visitor's address) over a sliding minute. */
export interface WebchatLimiter {
  /** True when one more event fits `perMinute` for `key` (and counts it). */
  allow(key: string, perMinute: number): Promise<boolean>;
  readonly scope: "global" | "isolate";
}

// Per isolate, for an edge without the Durable Object binding.
const isolateLimits = new SessionRateLimiter();

/**
 * The web chat's limiter: the `WEBCHAT_LIMITER` Durable Object namespace when bound (one object
 * per key, so the limit is global), else the isolate's memory. A Durable Object that cannot be
 * reached lets the event through and logs it: a limiter outage must not silence every chat.
 */
export function webchatLimiter(env: Env, logger: Logger): WebchatLimiter {
  const namespace = env.WEBCHAT_LIMITER as DurableObjectNamespace<WebchatRateLimiter> | undefined;
  if (!namespace || typeof namespace.idFromName !== "function") {
    return { scope: "isolate", allow: async (key, perMinute) => isolateLimits.allow(key, perMinute) };
  }
  return {
    scope: "global",
    async allow(key, perMinute) {
      try {
        return await namespace.get(namespace.idFromName(key)).allow(perMinute);
      } catch (error) {
        logger.log("error", "webchat.limiter_unavailable", { error: error instanceof Error ? error.name : "unknown" });
        return true;
      }
    },
  };
}
