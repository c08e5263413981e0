import { replyPattern, type TurnExpectation } from "./test-suite";

/** What one scripted turn produced, as a test run observes it. */
export interface ObservedTurn {
  reply: string;
  toolCalls: Array<{ name: string; arguments?: unknown; outcome?: string }>;
  /** Names of the knowledge sources the reply cites. */
  cited: string[];
  handedOff: boolean;
  latencyMs: number;
  costUsd: number;
  model: string;
  /** ISO 639-1, as detected from the reply. */
  language: string;
  /** The judge model's grade, when the turn asked for one. */
  judge?: { score: number; reason: string } | { error: string };
}

export interface TurnResult extends ObservedTurn {
  user: string;
  passed: boolean;
  /** One line per unmet expectation, saying what was expected and what came. */
  failures: string[];
}

export interface CaseResult {
  name: string;
  passed: boolean;
  turns: TurnResult[];
}

/** A run's results: per case, and the figures a tenant compares runs by. */
export interface TestRunResults {
  cases: CaseResult[];
  passed: number;
  failed: number;
  /** Passed cases over all cases, 0..1. */
  passRate: number;
  latencyMs: { total: number; max: number };
  costUsd: number;
}

/** The expectations a turn missed (empty: it passed). Text checks ignore case. */
export function unmetExpectations(expect: TurnExpectation, observed: ObservedTurn): string[] {
  const failures: string[] = [];
  const reply = observed.reply.toLowerCase();
  for (const text of expect.contains ?? []) if (!reply.includes(text.toLowerCase())) failures.push(`reply does not contain "${text}"`);
  for (const text of expect.notContains ?? []) if (reply.includes(text.toLowerCase())) failures.push(`reply contains "${text}"`);
  if (expect.matches && !replyPattern(expect.matches).matcher(observed.reply).find())
    failures.push(`reply does not match /${expect.matches}/i`);
  for (const wanted of expect.toolCalled ?? []) {
    const calls = observed.toolCalls.filter((call) => call.name === wanted.name);
    if (calls.length === 0) failures.push(`tool ${wanted.name} was not called`);
    else if (wanted.arguments && !calls.some((call) => argumentsMatch(wanted.arguments!, call.arguments)))
      failures.push(
        `tool ${wanted.name} was not called with ${JSON.stringify(wanted.arguments)} (got ${calls.map((c) => JSON.stringify(c.arguments ?? {})).join(", ")})`,
      );
  }
  for (const name of expect.toolNotCalled ?? [])
    if (observed.toolCalls.some((call) => call.name === name)) failures.push(`tool ${name} was called`);
  if (expect.cites && !observed.cited.includes(expect.cites))
    failures.push(`reply does not cite ${expect.cites} (cites ${observed.cited.length ? observed.cited.join(", ") : "nothing"})`);
  if (expect.handedOff !== undefined && expect.handedOff !== observed.handedOff)
    failures.push(expect.handedOff ? "the conversation was not handed off" : "the conversation was handed off");
  if (expect.maxLatencyMs !== undefined && observed.latencyMs > expect.maxLatencyMs)
    failures.push(`took ${observed.latencyMs} ms (at most ${expect.maxLatencyMs})`);
  if (expect.maxCostUsd !== undefined && observed.costUsd > expect.maxCostUsd)
    failures.push(`cost $${observed.costUsd} (at most $${expect.maxCostUsd})`);
  if (expect.language && observed.language !== expect.language)
    failures.push(`reply is in ${observed.language || "an undetected language"}, not ${expect.language}`);
  if (expect.judge) {
    const grade = observed.judge;
    if (!grade) failures.push("the judge did not grade the reply");
    else if ("error" in grade) failures.push(`the judge could not grade the reply: ${grade.error}`);
    else if (grade.score < expect.judge.minScore)
      failures.push(`the judge scored ${grade.score}/5 (at least ${expect.judge.minScore}): ${grade.reason}`);
  }
  return failures;
}

/** Every expected argument has the expected value (deep equality); other arguments may be anything. */
function argumentsMatch(expected: Record<string, unknown>, actual: unknown): boolean {
  if (!actual || typeof actual !== "object") return false;
  return Object.entries(expected).every(
    ([key, value]) => JSON.stringify((actual as Record<string, unknown>)[key]) === JSON.stringify(value),
  );
}

export function summarise(cases: CaseResult[]): TestRunResults {
  const turns = cases.flatMap((c) => c.turns);
  const passed = cases.filter((c) => c.passed).length;
  return {
    cases,
    passed,
    failed: cases.length - passed,
    passRate: cases.length ? passed / cases.length : 0,
    latencyMs: { total: turns.reduce((sum, t) => sum + t.latencyMs, 0), max: Math.max(0, ...turns.map((t) => t.latencyMs)) },
    costUsd: turns.reduce((sum, t) => sum + t.costUsd, 0),
  };
}
