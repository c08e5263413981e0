/**
 * `npm run agent-test -- --agent <id> --suite <file> [--version draft|published] [--junit <file>]`:
 * runs an agent's test suite through the admin API (`POST /v1/agents/{id}/test-runs`, then polls),
 * prints each case and turn, writes JUnit XML (default `test-results/agent-test.xml`) for CI, and
 * exits 0 when every case passed, 1 when one failed, 2 when the suite or the call was refused.
 *
 * The API and the credential come from AGENT_PLATFORM_URL (default: the running local stack's edge)
 * and AGENT_PLATFORM_API_KEY (an API key whose role has `agents:write`; locally
 * `npm run apikey -- create --role editor` prints one).
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import createClient from "openapi-fetch";
import junit from "junit-report-builder";
import type { TestRunResults } from "../core/agents/test-results";
import type { paths } from "../workers/console/src/api/schema";
import { readStackState } from "./stack/cli";

const USAGE = "usage: npm run agent-test -- --agent <id> --suite <file> [--version draft|published] [--junit <file>]";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      agent: { type: "string" },
      suite: { type: "string" },
      version: { type: "string", default: "draft" },
      junit: { type: "string", default: "test-results/agent-test.xml" },
      "timeout-seconds": { type: "string", default: "600" },
    },
  });
  if (!values.agent || !values.suite || (values.version !== "draft" && values.version !== "published")) {
    console.error(USAGE);
    return 2;
  }
  const { baseUrl, apiKey } = await target();
  const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${apiKey}` } });
  const started = await api.POST("/v1/agents/{agentId}/test-runs", {
    params: { path: { agentId: values.agent } },
    body: { suite: await readFile(values.suite, "utf8"), version: values.version },
  });
  if (!started.data) {
    const error = (started.error as { error?: { code?: string; message?: string; details?: { issues?: unknown } } } | undefined)?.error;
    console.error(`${values.suite}: ${error?.message ?? `HTTP ${started.response.status}`}`);
    for (const issue of (error?.details?.issues as Array<{ line?: number; column?: number; path: string; message: string }>) ?? []) {
      console.error(`  ${values.suite}:${issue.line ?? "?"}:${issue.column ?? "?"} ${issue.path} ${issue.message}`);
    }
    return 2;
  }
  const deadline = Date.now() + Number(values["timeout-seconds"]) * 1000;
  let run = started.data;
  while (run.status === "running") {
    if (Date.now() > deadline) {
      console.error(`the run ${run.id} did not finish in ${values["timeout-seconds"]} s`);
      return 2;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const polled = await api.GET("/v1/agents/{agentId}/test-runs/{runId}", { params: { path: { agentId: values.agent, runId: run.id } } });
    if (!polled.data) throw new Error(`reading the run answered HTTP ${polled.response.status}`);
    run = polled.data;
  }
  if (run.status === "error" || !run.results) {
    console.error(`the run could not finish: ${run.error ?? "no results"}`);
    return 2;
  }
  const results = run.results as unknown as TestRunResults;
  report(run.suiteName, run.version, results);
  await writeJunit(values.junit, run.suiteName, results);
  return results.failed === 0 ? 0 : 1;
}

async function target(): Promise<{ baseUrl: string; apiKey: string }> {
  const apiKey = process.env.AGENT_PLATFORM_API_KEY;
  if (!apiKey)
    throw new Error("set AGENT_PLATFORM_API_KEY to an API key with agents:write (locally: npm run apikey -- create --role editor)");
  const baseUrl = process.env.AGENT_PLATFORM_URL ?? (await readStackState().catch(() => undefined))?.edgeUrl ?? "http://127.0.0.1:8787";
  return { baseUrl, apiKey };
}

function report(suiteName: string, version: number, results: TestRunResults) {
  console.log(`${suiteName} against v${version}`);
  for (const testCase of results.cases) {
    console.log(`${testCase.passed ? "✓" : "✗"} ${testCase.name}`);
    for (const turn of testCase.turns) {
      for (const failure of turn.failures) console.log(`    ✗ "${turn.user}": ${failure}`);
    }
  }
  const cost = results.costUsd.toFixed(6);
  console.log(
    `${results.passed} passed, ${results.failed} failed (pass rate ${Math.round(results.passRate * 100)} %), ` +
      `${results.latencyMs.total} ms in turns (slowest ${results.latencyMs.max} ms), $${cost}`,
  );
}

/** One JUnit test case per suite case; its failed expectations are the failure's message. */
async function writeJunit(path: string, suiteName: string, results: TestRunResults) {
  const builder = junit.newBuilder();
  const suite = builder.testSuite().name(suiteName);
  for (const testCase of results.cases) {
    const entry = suite
      .testCase()
      .className(suiteName)
      .name(testCase.name)
      .time(testCase.turns.reduce((sum, turn) => sum + turn.latencyMs, 0) / 1000);
    const failures = testCase.turns.flatMap((turn) => turn.failures.map((failure) => `"${turn.user}": ${failure}`));
    if (failures.length) entry.failure(failures.join("\n"));
  }
  await mkdir(dirname(path), { recursive: true });
  builder.writeTo(path);
  console.log(`JUnit XML: ${path}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
