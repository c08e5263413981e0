import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPoolDb } from "../../db/client";
import { agentTestRuns } from "../../db/schema";
import { PROJECT_ROOT, startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { createAccessTenant, type AccessTenant } from "../support/access";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * Draft, published and test suites on the real stack: the edge (workerd) records a run and hands it
 * to the pool's runner, which runs each case through the turn's decision path with the offline
 * model (deterministic: it quotes the first sentence of the agent's instructions) and stores the
 * results the API then shows.
 */
let database: TestDatabase;
let stack: LocalStack;
let admin: ReturnType<typeof createPoolDb>;
let tenant: AccessTenant;

interface Run {
  id: string;
  status: string;
  version: number;
  results: {
    passed: number;
    failed: number;
    passRate: number;
    cases: Array<{ name: string; passed: boolean; turns: Array<{ failures: string[] }> }>;
  };
}

const call = async (path: string, init: { method?: string; body?: unknown } = {}) => {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${tenant.apiKeys.admin.key}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const SUITE = `name: Acme basics
cases:
  - name: greets as Acme
    turns:
      - user: hello
        expect:
          contains: [Welcome to Acme]
          notContains: [sorry]
  - name: remembers the conversation
    turns:
      - user: first
      - user: second
        expect: { matches: "1 earlier message" }
`;

let agentId: string;

/** Starts a run and waits for its end (the test's own timeout bounds it). */
async function run(version: "draft" | "published", suite: unknown = SUITE): Promise<Run> {
  const started = await call(`/v1/agents/${agentId}/test-runs`, { method: "POST", body: { suite, version } });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  for (;;) {
    const { body } = await call(`/v1/agents/${agentId}/test-runs/${String(started.body.id)}`);
    if (body.status !== "running") return body as unknown as Run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    withChroma: false,
    withPool: true,
    output: "quiet",
    poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  tenant = await createAccessTenant(admin.db);
  const created = await call("/v1/agents", {
    method: "POST",
    body: {
      name: "Acme",
      systemPrompt: "Welcome to Acme support. Answer briefly.",
      modelPolicy: { candidates: [{ provider: "offline", model: "offline-echo-1" }], rules: [] },
    },
  });
  agentId = String(created.body.id);
}, 120_000);

afterAll(async () => {
  await admin?.close();
  await stack?.stop();
  await database?.close();
});

describe("agent test suites", () => {
  it("pass on the published version, fail on a draft that breaks a case, and the published version still passes", async () => {
    const published = await run("published");
    expect(published).toMatchObject({ status: "passed", version: 1, results: { passed: 2, failed: 0, passRate: 1 } });

    const edited = await call(`/v1/agents/${agentId}`, { method: "PATCH", body: { systemPrompt: "Hola from Acme. Answer briefly." } });
    expect(edited.body).toMatchObject({ version: 2, publishedVersion: 1 });
    const draft = await run("draft");
    expect(draft).toMatchObject({ status: "failed", version: 2, results: { passed: 1, failed: 1, passRate: 0.5 } });
    expect(draft.results.cases[0]).toMatchObject({ name: "greets as Acme", passed: false });
    expect(draft.results.cases[0]!.turns[0]!.failures).toEqual(['reply does not contain "Welcome to Acme"']);

    // Side by side: the published version is untouched by the draft, and the comparison names the broken case.
    expect(await run("published")).toMatchObject({ status: "passed", version: 1 });
    const compared = await call(`/v1/agents/${agentId}/test-runs/${published.id}/compare/${draft.id}`);
    expect(compared.body.cases).toEqual([
      {
        name: "greets as Acme",
        before: true,
        after: false,
        changed: true,
        failuresBefore: [],
        failuresAfter: ['reply does not contain "Welcome to Acme"'],
      },
      { name: "remembers the conversation", before: true, after: true, changed: false, failuresBefore: [], failuresAfter: [] },
    ]);
    const listed = await call(`/v1/agents/${agentId}/test-runs`);
    expect((listed.body.data as Run[]).map((r) => [r.version, r.status])).toEqual([
      [1, "passed"],
      [2, "failed"],
      [1, "passed"],
    ]);
  });

  it("gate publishing on a passing run where the tenant requires it; a rollback is exempt", async () => {
    expect((await call("/v1/tenant", { method: "PATCH", body: { requireTestsToPublish: true } })).body).toMatchObject({
      requireTestsToPublish: true,
    });
    // v2's latest run failed: refused.
    const refused = await call(`/v1/agents/${agentId}/publish`, { method: "POST", body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: "CONFLICT", details: { reason: "TESTS_REQUIRED" } } });
    // Editing and publishing in one call cannot have been tested: refused, and nothing is saved.
    const untested = await call(`/v1/agents/${agentId}?publish=true`, { method: "PATCH", body: { temperature: 0.1 } });
    expect(untested.body).toMatchObject({ error: { details: { reason: "TESTS_REQUIRED" } } });
    // Fixed, tested, published.
    await call(`/v1/agents/${agentId}`, { method: "PATCH", body: { systemPrompt: "Welcome to Acme support. Answer in Spanish too." } });
    expect(await run("draft")).toMatchObject({ status: "passed", version: 3 });
    expect((await call(`/v1/agents/${agentId}/publish`, { method: "POST", body: { expectedVersion: 3 } })).body).toMatchObject({
      publishedVersion: 3,
    });
    // A rollback restores v1 and publishes it at once, tested or not.
    expect((await call(`/v1/agents/${agentId}/rollback`, { method: "POST", body: { version: 1 } })).body).toMatchObject({
      version: 4,
      publishedVersion: 4,
    });
  });

  it("refuses a malformed suite with the line of each problem, and runs nothing", async () => {
    const refused = await call(`/v1/agents/${agentId}/test-runs`, {
      method: "POST",
      body: { suite: "name: broken\ncases:\n  - name: no turns\n    channel: fax\n" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: {
        code: "INVALID_REQUEST",
        details: {
          reason: "INVALID_TEST_SUITE",
          issues: expect.arrayContaining([
            expect.objectContaining({ path: "cases.0.channel", line: 4 }),
            expect.objectContaining({ path: "cases.0.turns", line: 3 }),
          ]),
        },
      },
    });
    expect(((await call(`/v1/agents/${agentId}/test-runs`)).body.data as Run[]).length).toBe(4);
  });

  it("run from the command line for a tenant's CI: results printed, JUnit XML written, exit code per outcome", async () => {
    const dir = await mkdtemp(join(tmpdir(), "agent-test-"));
    const cli = (suite: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        let out = "";
        const child = spawn(
          join(PROJECT_ROOT, "node_modules/.bin/tsx"),
          ["scripts/agent-test.ts", "--agent", agentId, "--suite", suite, "--version", "published", "--junit", join(dir, "report.xml")],
          {
            cwd: PROJECT_ROOT,
            env: { ...process.env, AGENT_PLATFORM_URL: stack.edge.url, AGENT_PLATFORM_API_KEY: tenant.apiKeys.editor.key },
          },
        );
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.on("close", (code) => resolve({ code, out }));
      });
    await writeFile(
      join(dir, "suite.yaml"),
      `${SUITE}  - name: says goodbye\n    turns:\n      - user: bye\n        expect: { contains: [Goodbye] }\n`,
    );
    const failing = await cli(join(dir, "suite.yaml"));
    expect(failing.out).toContain("✗ says goodbye");
    expect(failing.out).toContain('✗ "bye": reply does not contain "Goodbye"');
    expect(failing.out).toContain("2 passed, 1 failed");
    expect(failing.code).toBe(1);
    const xml = await readFile(join(dir, "report.xml"), "utf8");
    expect(xml).toMatch(/<testsuite name="Acme basics" tests="3" failures="1"/);
    expect(xml).toContain("reply does not contain &quot;Goodbye&quot;");

    await writeFile(join(dir, "broken.yaml"), "name: broken\ncases:\n  - name: x\n    channel: fax\n    turns: [{ user: hi }]\n");
    const broken = await cli(join(dir, "broken.yaml"));
    expect(broken.code).toBe(2);
    expect(broken.out).toContain(`${join(dir, "broken.yaml")}:4:14 cases.0.channel`);
  }, 60_000);

  it("shows a run the pool lost (still running after 30 minutes) as an error, to run again", async () => {
    const [lost] = await admin.db
      .insert(agentTestRuns)
      .values({
        tenantId: tenant.tenantId,
        agentId,
        version: 1,
        target: "published",
        suite: { name: "lost", cases: [] },
        createdBy: "user:test",
        createdAt: new Date(Date.now() - 31 * 60_000),
      })
      .returning();
    const { body } = await call(`/v1/agents/${agentId}/test-runs/${lost!.id}`);
    expect(body).toMatchObject({ status: "error", error: expect.stringContaining("did not finish") });
  });
});
