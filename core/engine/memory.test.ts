import { describe, expect, it } from "vitest";
import { parseCommand } from "./commands";
import { planMemory, summaryRequest, type MemoryMessage } from "./memory";

const conversation = (count: number): MemoryMessage[] =>
  Array.from({ length: count }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `m${i}`, createdAt: new Date(1_000 + i) }));

describe("planMemory", () => {
  it("keeps everything while the history fits the window", () => {
    expect(planMemory(conversation(6), 6)).toEqual({ overflow: [], keep: conversation(6) });
  });

  it("summarises once the window overflows, keeping about half a window that starts with the user", () => {
    const plan = planMemory(conversation(7), 6);
    expect(plan.overflow.map((m) => m.content)).toEqual(["m0", "m1", "m2", "m3"]);
    expect(plan.keep.map((m) => m.content)).toEqual(["m4", "m5", "m6"]);
    const even = planMemory(conversation(8), 6);
    expect(even.keep[0]!.role).toBe("user");
    expect(even.keep.map((m) => m.content)).toEqual(["m4", "m5", "m6", "m7"]);
    const tight = planMemory(conversation(4), 2);
    expect(tight.keep.map((m) => m.content)).toEqual(["m2", "m3"]);
  });

  it("does not summarise again on the next turn (hysteresis)", () => {
    const after = planMemory(conversation(7), 6).keep;
    expect(planMemory([...after, ...conversation(2)], 6).overflow).toEqual([]);
  });

  it("never summarises with a window below 2", () => {
    expect(planMemory(conversation(5), 1)).toEqual({ overflow: [], keep: conversation(5).slice(-1) });
  });

  it("asks the summariser with the previous summary and the new messages", () => {
    expect(summaryRequest("Ada wants a refund.", conversation(2))).toBe(
      "Previous summary:\nAda wants a refund.\n\nNew messages:\nUser: m0\nAssistant: m1",
    );
  });
});

describe("parseCommand", () => {
  it("understands reset and handoff, with Telegram's @bot suffix, in any case", () => {
    expect(parseCommand("/reset")).toBe("reset");
    expect(parseCommand("  /RESET@demo_bot ")).toBe("reset");
    expect(parseCommand("/human")).toBe("handoff");
    expect(parseCommand("/operator")).toBe("handoff");
  });

  it("leaves ordinary text and unknown commands to the agent", () => {
    expect(parseCommand("please /reset my password")).toBeUndefined();
    expect(parseCommand("/start")).toBeUndefined();
    expect(parseCommand("human")).toBeUndefined();
  });
});
