import { describe, expect, it } from "vitest";
import { remembered } from "./cache";

describe("remembered", () => {
  it("makes each value once, forgets a rejection so the next call tries again, and stays within its bound", async () => {
    const cache = new Map<string, Promise<string>>();
    let made = 0;
    const make = (value: string) => () => (made++, Promise.resolve(value));
    expect(await remembered(cache, "a", 2, make("A"))).toBe("A");
    expect(await remembered(cache, "a", 2, make("other"))).toBe("A");
    expect(made).toBe(1);

    await expect(remembered(cache, "b", 2, () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(cache.has("b")).toBe(false);
    expect(await remembered(cache, "b", 2, make("B"))).toBe("B");

    expect(await remembered(cache, "c", 2, make("C"))).toBe("C");
    expect(cache.size).toBeLessThanOrEqual(2);
    expect([...cache.keys()]).toEqual(["c"]);
  });
});
