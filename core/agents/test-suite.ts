import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { RE2JS } from "re2js";
import { z } from "zod";
import { DomainError } from "../errors";
import { channelKinds } from "../../db/schema/channels";

/**
 * An agent's test suite: scripted conversations with expectations per turn. Written as YAML or
 * JSON (JSON is YAML), in a file for `npm run agent-test` or in the body of
 * `POST /v1/agents/{id}/test-runs`.
 *
 * @example
 * name: Support basics
 * cases:
 *   - name: opening hours
 *     channel: webchat
 *     stubs:
 *       order_status: { output: "Order 42 ships on Tuesday." }
 *     turns:
 *       - user: When do you open?
 *         expect: { contains: [nine], notContains: [sorry], cites: faq.md, maxLatencyMs: 5000 }
 *       - user: ¿Y los domingos?
 *         expect: { language: es, judge: { rubric: "Says Sunday opening hours politely.", minScore: 4 } }
 */
const toolCall = z
  .object({
    name: z.string().min(1).max(128),
    /** Every argument named here must have this value (other arguments may be anything). */
    arguments: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const turnExpectation = z
  .object({
    contains: z.array(z.string().min(1)).max(20).optional(),
    notContains: z.array(z.string().min(1)).max(20).optional(),
    /**
     * A regular expression (RE2 syntax, case-insensitive) the reply must match. RE2 (re2js) matches
     * in linear time, so a tenant's pattern cannot stall the shared worker pool (no backreferences).
     */
    matches: z
      .string()
      .min(1)
      .max(500)
      .refine((pattern) => {
        try {
          replyPattern(pattern);
          return true;
        } catch {
          return false;
        }
      }, "not a valid regular expression (RE2 syntax)")
      .optional(),
    toolCalled: z.array(toolCall).max(10).optional(),
    toolNotCalled: z.array(z.string().min(1)).max(20).optional(),
    /** The reply cites a chunk of the knowledge source with this name. */
    cites: z.string().min(1).max(256).optional(),
    handedOff: z.boolean().optional(),
    maxLatencyMs: z.number().int().positive().optional(),
    maxCostUsd: z.number().nonnegative().optional(),
    /** The reply's language as ISO 639-1 (`es`, `en`), detected from its text (short replies detect poorly). */
    language: z
      .string()
      .regex(/^[a-z]{2}$/, "an ISO 639-1 code such as es or en")
      .optional(),
    /** A graded check: a judge model scores the reply 1-5 against the rubric and says why. */
    judge: z
      .object({ rubric: z.string().min(1).max(2000), minScore: z.number().int().min(1).max(5).default(4) })
      .strict()
      .optional(),
  })
  .strict();
export type TurnExpectation = z.infer<typeof turnExpectation>;

/** A `matches` pattern, compiled case-insensitive with RE2 (linear-time matching). */
export function replyPattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
}

export const testCase = z
  .object({
    name: z.string().min(1).max(200),
    channel: z.enum(channelKinds).default("webchat"),
    /**
     * Answers for tools, by tool name. In a test run every other tool call is refused with a note
     * to the model, unless `liveTools` names the tool: a test never charges a card or writes a CRM
     * record unless the case says so.
     */
    stubs: z.record(z.string().min(1), z.object({ output: z.string().max(20_000) }).strict()).default({}),
    liveTools: z.array(z.string().min(1)).max(20).default([]),
    turns: z
      .array(z.object({ user: z.string().min(1).max(4000), expect: turnExpectation.default({}) }).strict())
      .min(1)
      .max(20),
  })
  .strict();
export type TestCase = z.infer<typeof testCase>;

export const testSuite = z
  .object({
    name: z.string().min(1).max(200),
    cases: z.array(testCase).min(1).max(50),
  })
  .strict();
export type TestSuite = z.infer<typeof testSuite>;

/** A problem in a suite file, where it is: 1-based line and column (absent when the place is unknown). */
export interface SuiteIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** A suite that does not parse or does not fit the schema: `INVALID_TEST_SUITE` with each issue's line. */
export class InvalidSuiteError extends DomainError {
  constructor(readonly issues: SuiteIssue[]) {
    super("INVALID_TEST_SUITE", 400, `The test suite is invalid: ${issues.map(describeIssue).join("; ")}`, issues);
  }
}

export function describeIssue(issue: SuiteIssue): string {
  const where = issue.line ? `line ${issue.line}${issue.column ? `:${issue.column}` : ""}` : "";
  return [where, issue.path, issue.message].filter(Boolean).join(" ");
}

/**
 * Parses a suite from YAML or JSON text, or validates one already parsed (a JSON body). Syntax
 * errors and schema issues come back with the line and column they concern, so a tenant's CI
 * points at the line to fix.
 */
export function parseTestSuite(source: string | unknown): TestSuite {
  if (typeof source !== "string") {
    const parsed = testSuite.safeParse(source);
    if (!parsed.success) throw new InvalidSuiteError(parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
    return parsed.data;
  }
  const lines = new LineCounter();
  const document = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length) {
    throw new InvalidSuiteError(
      document.errors.map((error) => {
        const at = lines.linePos(error.pos[0]);
        return { path: "", message: error.message.split("\n")[0]!, line: at.line, column: at.col };
      }),
    );
  }
  const parsed = testSuite.safeParse(document.toJS());
  if (parsed.success) return parsed.data;
  throw new InvalidSuiteError(
    parsed.error.issues.map((issue) => {
      const node = nodeAt(document.contents, issue.path);
      const at = node?.range ? lines.linePos(node.range[0]) : undefined;
      return { path: issue.path.join("."), message: issue.message, ...(at ? { line: at.line, column: at.col } : {}) };
    }),
  );
}

/** The deepest node along `path` that exists (an issue about a missing key points at its parent). */
function nodeAt(root: unknown, path: readonly PropertyKey[]): YamlNode | undefined {
  let node = root as YamlNode | undefined;
  for (const key of path) {
    let next: unknown;
    if (isMap(node)) next = node.items.find((pair) => (pair.key as { value?: unknown } | null)?.value === key)?.value;
    else if (isSeq(node) && typeof key === "number") next = node.items[key];
    if (!next) return node;
    node = next as YamlNode;
  }
  return node;
}
