import { DelegateBackoff, handleWhen, retry, type IRetryBackoffContext, type RetryPolicy } from "cockatiel";
import type { Logger } from "../../core/observability/log";

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * a random delay in [0, min(max, base * 2^attempt)], at least a tenth of the cap so that a pool
 * never spins. Many pools recovering at once spread out instead of hammering a dependency together.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 10 + random() * cap * 0.9);
}

/**
 * A retry policy (cockatiel) that retries while `retryable(error)` holds, waiting
 * {@link backoffDelay} between attempts.
 *
 * @example await retryWhile(isTransientFailure, { baseMs: 200, maxMs: 5_000 }).execute(() => write());
 */
export function retryWhile(retryable: (error: unknown) => boolean, policy: BackoffPolicy): RetryPolicy {
  return retry(handleWhen(retryable), {
    backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => backoffDelay(context.attempt - 1, policy)),
  });
}

/** Resolves after `ms`, or at once when `signal` aborts (shutdown). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

export type DependencyChecks = Record<string, () => Promise<void>>;

/** Runs every check; the names of those that failed. */
export async function failingChecks(checks: DependencyChecks): Promise<string[]> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await check();
        return undefined;
      } catch {
        return name;
      }
    }),
  );
  return results.filter((name): name is string => name !== undefined);
}

/**
 * The pool's circuit breaker in front of receiving and retrying. Hand-written rather than
 * cockatiel's CircuitBreakerPolicy: that one half-opens by letting one real call through, and here
 * a real call is a turn that may send a message; this gate instead reopens only after the
 * readiness checks (database, queue, Chroma) pass. After a transient failure (a
 * dependency down, a provider answering 5xx) it closes the way to new work: whoever calls
 * `pass()` waits a backoff delay that grows with each unsuccessful round, then the readiness
 * checks (database, queue, Chroma) must pass before it opens again. The first successful turn
 * resets the delay. One probe runs at a time however many callers wait, so a pool with 50
 * messages held does not send 50 health checks.
 */
export class DependencyGate {
  private unhealthy = false;
  private round = 0;
  private probe: Promise<void> | undefined;

  constructor(private readonly options: { checks: DependencyChecks; backoff: BackoffPolicy; logger: Logger; signal: AbortSignal }) {}

  get open(): boolean {
    return !this.unhealthy;
  }

  /** A turn or a receive failed in a way that waiting can fix. */
  recordFailure(reason: string): void {
    if (!this.unhealthy) this.options.logger.log("warn", "consumer.backing_off", { reason });
    this.unhealthy = true;
  }

  /** Work went through: the dependency is back. */
  recordSuccess(): void {
    if (this.round > 0) this.options.logger.log("info", "consumer.recovered", { rounds: this.round });
    this.unhealthy = false;
    this.round = 0;
  }

  /** Resolves when new work may start (or at shutdown). */
  async pass(): Promise<void> {
    while (this.unhealthy && !this.options.signal.aborted) {
      this.probe ??= this.runRound().finally(() => (this.probe = undefined));
      await this.probe;
    }
  }

  private async runRound(): Promise<void> {
    const delayMs = backoffDelay(this.round++, this.options.backoff);
    this.options.logger.log("info", "consumer.paused", { round: this.round, delayMs });
    await sleep(delayMs, this.options.signal);
    if (this.options.signal.aborted) return;
    const failed = await failingChecks(this.options.checks);
    if (failed.length === 0) this.unhealthy = false;
    else this.options.logger.log("warn", "consumer.dependency_unavailable", { failed });
  }
}
