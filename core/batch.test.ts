import { describe, expect, it } from "vitest";
import { whileBusy } from "./batch";

describe("whileBusy", () => {
  /** A service that records each request's items and answers after a tick as `answer` says. */
  function recording(answer: (items: string[]) => Array<Error | undefined> | Error | void = () => undefined) {
    const calls: string[][] = [];
    const send = async (items: string[]) => {
      calls.push(items);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const result = answer(items);
      if (result instanceof Error) throw result;
      return result;
    };
    return { calls, send };
  }

  it("sends at once when alone, and together (up to max a request) what is asked while a request runs", async () => {
    const { calls, send } = recording();
    const put = whileBusy(send, { max: 10 });
    await put("alone");
    expect(calls).toEqual([["alone"]]);
    await new Promise((resolve) => setImmediate(resolve)); // past the turn a finished request holds
    await Promise.all(Array.from({ length: 25 }, (_, i) => put(`i${i}`)));
    expect(calls.slice(1).map((call) => call.length)).toEqual([1, 10, 10, 4]);
    expect(calls.slice(1).flat()).toEqual(Array.from({ length: 25 }, (_, i) => `i${i}`));
  });

  it("lets the callers a request resumed join the next request instead of following alone", async () => {
    const { calls, send } = recording();
    const put = whileBusy(send, { max: 10 });
    // Three workers, each putting its next item as soon as its last one is done.
    await Promise.all(
      ["a", "b", "c"].map(async (worker) => {
        for (let i = 0; i < 3; i++) await put(`${worker}${i}`);
      }),
    );
    // Without the held turn the first worker would go alone every other request ([1, 2, 1, 2, ...]).
    expect(calls).toEqual([["a0"], ["b0", "c0", "a1"], ["b1", "c1", "a2"], ["b2", "c2"]]);
  });

  it("rejects the items a request says failed, every item of a request that threw, then carries on", async () => {
    let throwNext = false;
    const { send } = recording((items) => {
      if (throwNext) {
        throwNext = false;
        return new Error("connection reset");
      }
      return items.map((item) => (item === "bad" ? new Error(`refused ${item}`) : undefined));
    });
    const put = whileBusy(send, { max: 10 });
    const results = await Promise.allSettled([put("first"), put("ok"), put("bad")]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain("refused bad");
    throwNext = true;
    await expect(put("lost")).rejects.toThrow("connection reset");
    await expect(put("after")).resolves.toBeUndefined();
  });
});
