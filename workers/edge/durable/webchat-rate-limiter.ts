import { DurableObject } from "cloudflare:workers";
import { SlidingWindow } from "../../../core/channels/webchat/session";

/**
 * One web chat visitor's (or one address's) message budget, as a Durable Object: Cloudflare runs
 * exactly one instance per name worldwide, so the limit holds across every edge isolate and
 * colo, which the per-isolate fallback cannot promise. The window lives in the object's memory:
 * an object evicted after a quiet spell starts a fresh minute, which only ever errs towards
 * letting a visitor talk.
 */
export class WebchatRateLimiter extends DurableObject {
  readonly #window = new SlidingWindow();

  /** True when one more event fits `perMinute` (and counts it). */
  async allow(perMinute: number): Promise<boolean> {
    return this.#window.allow(perMinute);
  }
}
