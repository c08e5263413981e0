import { describe, expect, it } from "vitest";
import { InvalidSuiteError, parseTestSuite, replyPattern, type SuiteIssue } from "./test-suite";

const issuesOf = (source: string | unknown): SuiteIssue[] => {
  try {
    parseTestSuite(source);
  } catch (error) {
    if (error instanceof InvalidSuiteError) return error.issues;
    throw error;
  }
  throw new Error("the suite parsed");
};

describe("test suites", () => {
  it("parse from YAML with defaults (web chat, no stubs, no expectations)", () => {
    const suite = parseTestSuite(`name: Basics
cases:
  - name: greets
    turns:
      - user: Hello
      - user: When do you open?
        expect:
          contains: [nine]
          toolCalled: [{ name: order_status, arguments: { order: "42" } }]
`);
    expect(suite.cases[0]).toMatchObject({ channel: "webchat", stubs: {}, liveTools: [] });
    expect(suite.cases[0]!.turns).toEqual([
      { user: "Hello", expect: {} },
      { user: "When do you open?", expect: { contains: ["nine"], toolCalled: [{ name: "order_status", arguments: { order: "42" } }] } },
    ]);
  });

  it("parse from JSON text and from an object", () => {
    const json = { name: "J", cases: [{ name: "c", turns: [{ user: "hi" }] }] };
    expect(parseTestSuite(JSON.stringify(json)).name).toBe("J");
    expect(parseTestSuite(json).cases).toHaveLength(1);
  });

  it("report schema problems with the line and column they are on", () => {
    const issues = issuesOf(`name: Basics
cases:
  - name: bad
    channel: fax
    turns:
      - user: Hello
        expect:
          matches: "(unclosed"
          maxLatencyMs: -5
          surprise: true
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "cases.0.channel", line: 4, column: 14 }),
        expect.objectContaining({
          path: "cases.0.turns.0.expect.matches",
          line: 8,
          message: "not a valid regular expression (RE2 syntax)",
        }),
        expect.objectContaining({ path: "cases.0.turns.0.expect.maxLatencyMs", line: 9 }),
        expect.objectContaining({ path: "cases.0.turns.0.expect", line: 8 }),
      ]),
    );
  });

  it("report YAML syntax errors and duplicate keys with their line", () => {
    expect(issuesOf("name: x\ncases:\n  - name: a\n    turns: [\n")[0]).toMatchObject({ line: expect.any(Number) });
    const duplicate = issuesOf("name: x\nname: y\ncases: []\n");
    expect(duplicate[0]).toMatchObject({ line: 2 });
  });

  it("point a missing field at its parent, and describe every issue in the error's message", () => {
    const error = (() => {
      try {
        parseTestSuite("name: x\ncases:\n  - name: no turns\n");
      } catch (caught) {
        return caught as InvalidSuiteError;
      }
    })()!;
    expect(error.code).toBe("INVALID_TEST_SUITE");
    expect(error.issues[0]).toMatchObject({ path: "cases.0.turns", line: 3 });
    expect(error.message).toContain("line 3");
  });

  // A backtracking engine would not return from this match (the test's timeout would end it); RE2 does at once.
  it("match patterns with RE2: linear time on a pattern that backtracks catastrophically elsewhere, no backreferences", () => {
    const issues = issuesOf({ name: "x", cases: [{ name: "c", turns: [{ user: "hi", expect: { matches: "(a)\\1" } }] }] });
    expect(issues[0]).toMatchObject({ path: "cases.0.turns.0.expect.matches" });
    const suite = parseTestSuite({ name: "x", cases: [{ name: "c", turns: [{ user: "hi", expect: { matches: "(a+)+$" } }] }] });
    expect(
      replyPattern(suite.cases[0]!.turns[0]!.expect.matches!)
        .matcher(`${"a".repeat(20_000)}b`)
        .find(),
    ).toBe(false);
  });
});
