import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChannelAddress } from "../../core/channels/address";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { createPoolDb, type DbHandle } from "../../db/client";
import { analyticsTrafficHourly } from "../../db/schema";
import { LOCAL_DEMO_BOT_TOKEN, PROJECT_ROOT, startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { createPoolMetrics } from "../../workers/pool/metrics";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { textUpdate } from "../support/telegram";
import type pg from "pg";

const RULES = join(PROJECT_ROOT, "ops/prometheus/alerts.yml");

describe("ops/: alert rules and dashboards", () => {
  it("the alert rules pass `promtool check rules` and their unit tests", () => {
    expect(execFileSync("promtool", ["check", "rules", RULES], { encoding: "utf8" })).toContain("SUCCESS: 7 rules found");
    expect(
      execFileSync("promtool", ["test", "rules", join(PROJECT_ROOT, "ops/prometheus/alerts.test.yml")], { encoding: "utf8" }),
    ).toContain("SUCCESS");
    expect(
      execFileSync("promtool", ["check", "config", join(PROJECT_ROOT, "ops/prometheus/prometheus.yml")], { encoding: "utf8" }),
    ).toContain("SUCCESS");
  });

  it("the dashboards are Grafana JSON whose queries name metrics and tables that exist", async () => {
    const registry = createPoolMetrics({ defaultMetrics: false }).registry;
    const known = new Set((await registry.getMetricsAsJSON()).map((m) => m.name).concat(["edge_requests_total", "up"]));
    const platform = JSON.parse(await readFile(join(PROJECT_ROOT, "ops/grafana/platform.json"), "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    expect(platform.panels.length).toBeGreaterThanOrEqual(10);
    for (const target of platform.panels.flatMap((p) => p.targets)) {
      const names = [...target.expr.matchAll(/\b((?:agent|edge)_[a-z_]+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!);
      expect(names.length, target.expr).toBeGreaterThan(0);
      for (const name of names) expect(known.has(name), `${name} in ${target.expr}`).toBe(true);
    }
    const tenant = JSON.parse(await readFile(join(PROJECT_ROOT, "ops/grafana/tenant.json"), "utf8")) as {
      panels: Array<{ targets: Array<{ rawSql: string }> }>;
    };
    for (const target of tenant.panels.flatMap((p) => p.targets)) {
      expect(target.rawSql).toMatch(/from analytics_(traffic|usage|tools|end_users)_hourly/);
      expect(target.rawSql).toContain("'$tenant'");
    }
  });
});

/**
 * A real turn through the local stack with `--with-monitoring`: the pool's /metrics change, a real
 * Prometheus (Debian's package) scrapes them, the edge's counters show the webhook, the rollup job
 * picks the turn up, and no secret appears in any service's output.
 */
describe("monitoring a real turn", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let admin: DbHandle<pg.Pool>;
  let logDir: string;
  let logFile: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    logDir = await mkdtemp(join(tmpdir(), "monitoring-test-"));
    logFile = join(logDir, "services.log");
    stack = await startLocalStack({
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      withMonitoring: true,
      output: { file: logFile },
      poolEnv: { POOL_WAIT_TIME_SECONDS: "1", POOL_JOBS_INTERVAL_SECONDS: "1", LOG_LEVEL: "debug" },
    });
    admin = createPoolDb(database.adminUrl, { max: 2 });
  });

  afterAll(async () => {
    await admin?.close();
    await stack?.stop();
    await database?.close();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  const poolMetric = async (pattern: RegExp) => {
    const text = await (await fetch(`${stack.pool!.healthUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => pattern.test(l));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 240; i++) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`gave up waiting for ${what}`);
  };

  it("counts the turn in the pool's metrics, Prometheus scrapes it, the edge counts the webhook", async () => {
    const replied = /^agent_turns_total\{channel="telegram",outcome="replied"\}/;
    const before = await poolMetric(replied);
    const address = parseChannelAddress(stack.demo!.address)!;
    const secret = await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, address);
    const response = await fetch(`${stack.edge.url}/webhooks/telegram/${stack.demo!.address}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(textUpdate("How are the metrics?", { chatId: 3131 })),
    });
    expect(response.status).toBe(200);
    await stack.telegram!.waitForSent(3131, 1);

    await until("the turn counted", async () => ((await poolMetric(replied)) === before + 1 ? true : undefined));
    expect(await poolMetric(/^agent_model_calls_total\{provider="offline",model="offline-echo-1",outcome="ok"\}/)).toBeGreaterThanOrEqual(
      1,
    );
    expect(await poolMetric(/^agent_model_tokens_total\{provider="offline",model="offline-echo-1",direction="output"\}/)).toBeGreaterThan(
      0,
    );
    expect(await poolMetric(/^agent_turn_duration_seconds_count\{channel="telegram"\}/)).toBeGreaterThanOrEqual(1);
    const poolText = await (await fetch(`${stack.pool!.healthUrl}/metrics`)).text();
    expect(poolText).toContain("agent_queue_lag_seconds");
    expect(poolText).not.toContain(stack.demo!.tenantId);

    const prometheus = stack.prometheus!;
    const query = async (promql: string) => {
      const answer = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return answer.data.result;
    };
    await until("Prometheus to scrape the pool", async () =>
      (await query('up{job="agent-pool"}'))[0]?.value[1] === "1" ? true : undefined,
    );
    const scraped = await until("the turn in Prometheus", async () => {
      const result = await query('sum(agent_turns_total{channel="telegram",outcome="replied"})');
      return Number(result[0]?.value[1] ?? 0) >= 1 ? result : undefined;
    });
    expect(Number(scraped[0]!.value[1])).toBeGreaterThanOrEqual(1);
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: unknown[] }> } };
    expect(rules.data.groups[0]!.rules).toHaveLength(7);

    const edgeText = await (await fetch(`${stack.edge.url}/metrics`)).text();
    expect(edgeText).toMatch(/edge_requests_total\{route="\/webhooks\/telegram\/:channelId",method="POST",status="200"\} [1-9]/);
    expect(edgeText).not.toContain(stack.demo!.address);
  });

  it("rolls the turn up for the analytics API", async () => {
    const rows = await until("the rollup", async () => {
      const found = await admin.db.select().from(analyticsTrafficHourly).where(eq(analyticsTrafficHourly.tenantId, stack.demo!.tenantId));
      return found.some((row) => row.messagesOut >= 1) ? found : undefined;
    });
    expect(rows.reduce((sum, row) => sum + row.messagesIn, 0)).toBeGreaterThanOrEqual(1);
  });

  it("writes JSON log lines with ids and never a secret", async () => {
    const log = await readFile(logFile, "utf8");
    const turnLines = log
      .split("\n")
      .map((line) => line.slice(line.indexOf("{")))
      .filter((line) => line.startsWith("{") && line.includes('"turn.'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(turnLines.length).toBeGreaterThan(0);
    for (const line of turnLines) expect(line).toMatchObject({ service: "pool", tenantId: stack.demo!.tenantId });
    const keyMaterial = stack.keys.SECRETS_KEYRING.split(",").map((entry) => entry.split(":")[1]!);
    const secret = await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, parseChannelAddress(stack.demo!.address)!);
    for (const value of [
      ...keyMaterial,
      stack.keys.WEBHOOK_SIGNING_KEY,
      LOCAL_DEMO_BOT_TOKEN.split(":")[1]!,
      secret,
      "How are the metrics?",
    ]) {
      expect(log).not.toContain(value);
    }
  });
});
