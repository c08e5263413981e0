import pLimit, { type LimitFunction } from "p-limit";

/**
 * The turn slots: at most `size` turns at once across batches (p-limit). A caller still waiting
 * when the pool stops gives up at once ("released"); a turn that has started runs to its end.
 */
export class Slots {
  private readonly limit: LimitFunction;

  constructor(
    size: number,
    private readonly signal: AbortSignal,
  ) {
    this.limit = pLimit(size);
  }

  run<T>(work: () => Promise<T>): Promise<T | "released"> {
    if (this.signal.aborted) return Promise.resolve("released");
    let started = false;
    const queued = this.limit(async (): Promise<T | "released"> => {
      if (this.signal.aborted) return "released";
      started = true;
      return work();
    });
    let onAbort = () => {};
    const released = new Promise<"released">((resolve) => {
      onAbort = () => !started && resolve("released");
      this.signal.addEventListener("abort", onAbort, { once: true });
    });
    // The listener goes with the call: a long-running pool must not collect one per message.
    return Promise.race([queued, released]).finally(() => this.signal.removeEventListener("abort", onAbort));
  }
}
