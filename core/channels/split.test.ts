import { describe, expect, it } from "vitest";
import { splitText } from "./split";

describe("splitText", () => {
  it("keeps a short text whole", () => {
    expect(splitText("hello", 4096)).toEqual(["hello"]);
  });

  it("splits 10,000 characters without spaces into 4,096-character parts", () => {
    const parts = splitText("a".repeat(10_000), 4096);
    expect(parts.map((p) => p.length)).toEqual([4096, 4096, 1808]);
    expect(parts.join("")).toBe("a".repeat(10_000));
  });

  it("cuts at paragraph, line and word boundaries, never mid-word", () => {
    const words = Array.from({ length: 2000 }, (_, i) => `word${i}`).join(" ");
    const parts = splitText(words, 4096);
    expect(parts.every((p) => p.length <= 4096 && p.length > 0)).toBe(true);
    expect(parts.join(" ")).toBe(words);
    const paragraphs = `${"x".repeat(3000)}\n\n${"y".repeat(3000)}`;
    expect(splitText(paragraphs, 4096)).toEqual(["x".repeat(3000), "y".repeat(3000)]);
  });

  it("does not cut a surrogate pair", () => {
    const text = `${"a".repeat(4095)}😀${"b".repeat(10)}`;
    const parts = splitText(text, 4096);
    expect(parts[0]).toBe("a".repeat(4095));
    expect(parts[1]).toBe(`😀${"b".repeat(10)}`);
  });
});
