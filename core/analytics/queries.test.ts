import { describe, expect, it } from "vitest";
import { percentileFromHistogram, resolveRange } from "./queries";
import { RESPONSE_BUCKETS_MS } from "./rollup";
import { InvalidRequestError } from "../errors";

describe("percentileFromHistogram", () => {
  const counts = (entries: Record<number, number>) => Array.from({ length: RESPONSE_BUCKETS_MS.length + 1 }, (_, i) => entries[i] ?? 0);

  it("answers the upper bound of the bucket holding the nearest rank", () => {
    // 19 fast (≤ 250 ms) and 1 slow (≤ 5 s): the 95th percentile of 20 is the 19th, still fast.
    expect(percentileFromHistogram(counts({ 0: 19, 5: 1 }), 0.95)).toBe(250);
    expect(percentileFromHistogram(counts({ 0: 18, 5: 2 }), 0.95)).toBe(5000);
    expect(percentileFromHistogram(counts({ [RESPONSE_BUCKETS_MS.length]: 1 }), 0.95)).toBe(120_000);
    expect(percentileFromHistogram(counts({}), 0.95)).toBeNull();
  });
});

describe("resolveRange", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  it("defaults to the last 30 days and checks order and span", () => {
    expect(resolveRange({}, "day", now)).toEqual({ from: new Date("2026-10-26T12:00:00Z"), to: now });
    expect(() => resolveRange({ from: "2026-11-25T12:00:00Z", to: "2026-11-25T11:00:00Z" })).toThrow(InvalidRequestError);
    expect(() => resolveRange({ from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z" }, "hour")).toThrow(/at most 31 days/);
  });
});
