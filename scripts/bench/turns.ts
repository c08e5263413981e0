/**
 * `npm run bench:turns`: complete turns through the real path (edge under workerd → SQS → pool →
 * offline model → fake Telegram) with closed-loop clients: each client is its own chat and sends
 * its next message only once the reply to the last one reached the fake. For each client count it
 * prints turns/s, p50 and p99 from webhook to reply, and where the time went: the edge's
 * acknowledgement (measured by the client) and the pool's stages (`agent_turn_stage_seconds` and
 * `agent_model_call_duration_seconds`, read from the pool's /metrics before and after).
 * Starts its own stack: PGlite, or DATABASE_URL's PostgreSQL when set.
 *   --clients 1,16   client counts, one run each (default 1,16)
 *   --duration S     seconds per run (default 15)
 *   --warmup S       seconds of one client before the runs (default 3)
 *   --concurrency N  the pool's POOL_CONCURRENCY (default the pool's own)
 *   --pools N        pool processes consuming the queue (default 1); stages and CPU are summed over them
 *   --profile DIR    write the pool's V8 CPU profile (`--cpu-prof`) into DIR when the stack stops
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { TURN_STAGES } from "../../core/observability/metrics";
import { startLocalStack, type LocalStack } from "../local-stack";
import { runOwningStack } from "../resilience/bounded-run";
import { numberFlag, ownStackTarget } from "../resilience/stack-target";
import { CORES, cpuUsed, sampleCpu, type CpuSample } from "./cpu";
import { difference, mean, quantile, readHistograms, type Histogram } from "./histograms";

const { values } = parseArgs({
  options: {
    clients: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    concurrency: { type: "string" },
    pools: { type: "string" },
    profile: { type: "string" },
  },
});
const clientCounts = (values.clients ?? "1,16").split(",").map((count) => {
  const parsed = Number(count);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 256)
    throw new Error(`--clients: ${JSON.stringify(count)} is not a count from 1 to 256`);
  return parsed;
});
const durationS = numberFlag(values, "duration", 15, 1, 600);
const warmupS = numberFlag(values, "warmup", 3, 0, 60);
const concurrency = values.concurrency === undefined ? undefined : numberFlag(values, "concurrency", 10, 1, 1_000);
const poolCount = numberFlag(values, "pools", 1, 1, 8);

interface RunFigures {
  clients: number;
  turns: number;
  seconds: number;
  e2eMs: number[];
  ackMs: number[];
  stages: Map<string, Histogram>;
  model: Histogram;
  /** The pool processes' CPU seconds over the run (`pool_process_cpu_seconds_total`, summed). */
  poolCpuS: number;
  /** CPU seconds each part of the stack and the machine used over the run (/proc). */
  cpu: CpuSample;
}

const percentile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : Number.NaN;

async function main(own: <T extends LocalStack>(stack: T) => T): Promise<number> {
  const onPostgres = Boolean(process.env.DATABASE_URL);
  const logFile = join(await mkdtemp(join(tmpdir(), "agent-bench-turns-")), "services.log");
  console.log(
    `bench:turns: starting a local stack on ${onPostgres ? "PostgreSQL (DATABASE_URL)" : "PGlite"}; service output in ${logFile}`,
  );
  const stack = own(
    await startLocalStack({
      withChroma: false,
      ...(onPostgres ? { databaseUrl: process.env.DATABASE_URL! } : {}),
      output: { file: logFile },
      poolEnv: {
        LOG_LEVEL: "warn",
        ...(concurrency ? { POOL_CONCURRENCY: String(concurrency) } : {}),
      },
      ...(values.profile ? { poolNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${resolve(values.profile)}`] } : {}),
    }),
  );
  const target = await ownStackTarget(stack);
  target.sqs.destroy();
  const telegram = stack.telegram!;
  const pools = [stack.pool!];
  for (let more = 1; more < poolCount; more++) pools.push(await stack.startPool());
  const scrape = async () => {
    // Series of the same name from several pools add up in readHistograms.
    const text = (await Promise.all(pools.map(async (pool) => (await fetch(`${pool.healthUrl}/metrics`)).text()))).join("\n");
    const cpu = [...text.matchAll(/^pool_process_cpu_seconds_total (\S+)$/gm)];
    return {
      stages: readHistograms(text, "agent_turn_stage_seconds", "stage"),
      model: readHistograms(text, "agent_model_call_duration_seconds").get(""),
      cpuS: cpu.length === pools.length ? cpu.reduce((sum, match) => sum + Number(match[1]), 0) : Number.NaN,
    };
  };

  let nextChat = 900_000_000 + Math.floor(Math.random() * 50_000_000);
  let nextUpdate = Math.floor(Date.now() / 1000) * 1000;
  /** One closed-loop client until `deadline`: post, wait for the reply at the fake, repeat. */
  const client = async (deadline: number, e2eMs: number[], ackMs: number[]) => {
    const chatId = nextChat++;
    let replies = 0;
    while (performance.now() < deadline) {
      const update = nextUpdate++;
      const started = performance.now();
      const response = await fetch(target.webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": target.secret },
        body: JSON.stringify({
          update_id: update,
          message: {
            message_id: update,
            date: Math.floor(Date.now() / 1000),
            chat: { id: chatId, type: "private" },
            from: { id: chatId, is_bot: false, first_name: "Bench" },
            text: `turn ${update}`,
          },
        }),
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`the webhook answered ${response.status}`);
      ackMs.push(performance.now() - started);
      await telegram.waitForSent(chatId, ++replies, 30_000);
      e2eMs.push(performance.now() - started);
    }
  };
  const groups = () => ({ edge: stack.edge.pid, pools: pools.map((pool) => pool.pid) });
  const run = async (clients: number, seconds: number): Promise<RunFigures> => {
    const before = await scrape();
    const cpuBefore = sampleCpu(groups());
    const e2eMs: number[] = [];
    const ackMs: number[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, () => client(started + seconds * 1000, e2eMs, ackMs)));
    const elapsed = (performance.now() - started) / 1000;
    const cpuAfter = sampleCpu(groups());
    const after = await scrape();
    const stages = new Map([...after.stages].map(([stage, histogram]) => [stage, difference(histogram, before.stages.get(stage))]));
    const model = after.model ? difference(after.model, before.model) : { buckets: [], sum: 0, count: 0 };
    return {
      clients,
      turns: e2eMs.length,
      seconds: elapsed,
      e2eMs: e2eMs.sort((a, b) => a - b),
      ackMs: ackMs.sort((a, b) => a - b),
      stages,
      model,
      poolCpuS: after.cpuS - before.cpuS,
      cpu: cpuUsed(cpuBefore, cpuAfter),
    };
  };

  if (warmupS > 0) {
    console.log(`warming up: 1 client for ${warmupS} s…`);
    await run(1, warmupS);
  }
  const results: RunFigures[] = [];
  for (const clients of clientCounts) {
    console.log(`running: ${clients} client(s) for ${durationS} s…`);
    results.push(await run(clients, durationS));
  }
  console.log("");
  console.log(report(results, onPostgres ? "PostgreSQL" : "PGlite"));
  return 0;
}

const ms = (seconds: number) => (Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(1)}` : "-");

function report(results: RunFigures[], database: string): string {
  const lines: string[] = [`database: ${database}`, ""];
  lines.push("clients  turns/s  p50 ms  p99 ms  turns  pool CPU ms/turn");
  for (const r of results) {
    lines.push(
      `${String(r.clients).padStart(7)}  ${(r.turns / r.seconds).toFixed(1).padStart(7)}  ${percentile(r.e2eMs, 0.5).toFixed(1).padStart(6)}  ${percentile(r.e2eMs, 0.99).toFixed(1).padStart(6)}  ${String(r.turns).padStart(5)}  ${((r.poolCpuS * 1000) / Math.max(1, r.turns)).toFixed(1).padStart(16)}`,
    );
  }
  for (const r of results) {
    lines.push(
      "",
      `where the time went, ${r.clients} client(s) (mean, p50 and p99 in ms; pool stages from its histograms, interpolated within buckets):`,
    );
    lines.push("stage                     mean     p50     p99  count");
    const row = (name: string, meanS: number, p50S: number, p99S: number, count: number) =>
      lines.push(
        `${name.padEnd(22)}${ms(meanS).padStart(7)} ${ms(p50S).padStart(7)} ${ms(p99S).padStart(7)}  ${String(count).padStart(5)}`,
      );
    const ack = r.ackMs.map((value) => value / 1000);
    row(
      "edge ack (client)",
      ack.reduce((a, b) => a + b, 0) / Math.max(1, ack.length),
      percentile(ack, 0.5),
      percentile(ack, 0.99),
      ack.length,
    );
    for (const stage of TURN_STAGES) {
      const histogram = r.stages.get(stage) ?? { buckets: [], sum: 0, count: 0 };
      const label = stage === "decide" ? "decide (engine+model)" : stage === "delete" ? "delete (after reply)" : stage;
      row(label, mean(histogram), quantile(histogram, 0.5), quantile(histogram, 0.99), histogram.count);
      if (stage === "decide") {
        row("  of which model", mean(r.model), quantile(r.model, 0.5), quantile(r.model, 0.99), r.model.count);
        row("  of which engine", mean(histogram) - mean(r.model), Number.NaN, Number.NaN, histogram.count);
      }
    }
    // The queue message is deleted after the reply went out: not on the path the client waits for.
    const accounted = TURN_STAGES.filter((stage) => stage !== "delete").reduce((total, stage) => {
      const histogram = r.stages.get(stage);
      return total + (histogram && histogram.count > 0 ? mean(histogram) : 0);
    }, 0);
    const e2eMean = r.e2eMs.reduce((a, b) => a + b, 0) / Math.max(1, r.e2eMs.length) / 1000;
    row("webhook to reply", e2eMean, percentile(r.e2eMs, 0.5) / 1000, percentile(r.e2eMs, 0.99) / 1000, r.e2eMs.length);
    row("  sum of the means", ack.reduce((a, b) => a + b, 0) / Math.max(1, ack.length) + accounted, Number.NaN, Number.NaN, r.e2eMs.length);
  }
  lines.push("", ...cpuTable(results, database));
  lines.push(
    "",
    "Stages overlap at their ends: the queue's clock starts inside the edge's request (when SQS accepts the",
    "message), and `send` ends after the fake has the reply (it then marks the reply sent), so the sum of the",
    "means exceeds webhook to reply by about that overlap.",
  );
  return lines.join("\n");
}

/**
 * CPU per turn by process, from /proc: on one machine every part of the stack competes for the same
 * cores, so a turn's cost is the sum, and turns/s at saturation is about the cores over that sum.
 */
function cpuTable(results: RunFigures[], database: string): string[] {
  if (results.every((r) => !Number.isFinite(r.cpu.machineTotal))) return ["CPU per process: not measured (needs Linux's /proc)"];
  const parts: Array<[string, (cpu: CpuSample) => number]> = [
    ["pool", (cpu) => cpu.pool],
    ["edge (workerd)", (cpu) => cpu.workerd],
    ["edge runner (Node, Miniflare; not in production)", (cpu) => cpu.edgeOther],
    [`this process (clients, SQS emulator, fakes${database === "PGlite" ? ", PGlite" : ""})`, (cpu) => cpu.self],
    ...(database === "PGlite"
      ? []
      : [["PostgreSQL (every postgres process)", (cpu: CpuSample) => cpu.postgres] as [string, (cpu: CpuSample) => number]]),
  ];
  const width = Math.max(...parts.map(([name]) => name.length), 30);
  const lines = [
    `CPU per turn by process (ms), and the machine's busy cores (of ${CORES}):`,
    `${"process".padEnd(width)}${results.map((r) => `${r.clients} client(s)`.padStart(14)).join("")}`,
  ];
  const perTurn = (r: RunFigures, seconds: number) => ((seconds * 1000) / Math.max(1, r.turns)).toFixed(1);
  for (const [name, part] of parts) lines.push(`${name.padEnd(width)}${results.map((r) => perTurn(r, part(r.cpu)).padStart(14)).join("")}`);
  const sum = (cpu: CpuSample) => parts.reduce((total, [, part]) => total + part(cpu), 0);
  lines.push(`${"sum of the above".padEnd(width)}${results.map((r) => perTurn(r, sum(r.cpu)).padStart(14)).join("")}`);
  lines.push(
    `${"whole machine, busy".padEnd(width)}${results.map((r) => perTurn(r, r.cpu.machineBusy).padStart(14)).join("")}`,
    `${"busy cores".padEnd(width)}${results.map((r) => ((r.cpu.machineBusy / r.cpu.machineTotal) * CORES).toFixed(2).padStart(14)).join("")}`,
  );
  return lines;
}

await runOwningStack("bench:turns", 240_000 + (clientCounts.length * (durationS + 30) + warmupS) * 1000, main);
