/**
 * `npm run bench:edge [-- --duration 10 --connections 16 --warmup 2 --profile edge.cpuprofile]`
 *
 * Starts, on loopback only: the SQS emulator, the real edge in workerd (scripts/stack/edge.ts) and a
 * bare Hono worker under the same runtime (`bare-worker.ts`). Drives the Telegram webhook
 * (`POST /webhooks/telegram/<tenant>.<channel>`, valid secret, a valid text update with a unique
 * `update_id` per request) and then the bare worker's `POST /` with the same connections,
 * duration and body size, one after the other. Prints requests, req/s, p50 and p99 for both and
 * their ratio, and the inbound queue depth afterwards to show the webhook really enqueued.
 * Exits non-zero on any non-2xx answer, unexpected body or connection error.
 *
 * Latency percentiles are computed here from autocannon's per-response times (sub-millisecond),
 * not from its histogram, which rounds to whole milliseconds. The load generator and the SQS
 * emulator share this process; workerd and its runner are separate processes. After the table, the
 * CPU per request of workerd and of this process, and the machine's busy cores, read from /proc
 * (scripts/bench/cpu.ts). The Worker's inspector is attached only with `--profile` (it costs the
 * Worker throughput, see edge-runner.ts).
 */
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { formatChannelAddress, type ChannelAddress } from "../../core/channels/address";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { textUpdate } from "../../test/support/telegram";
import { generateKeys } from "../local-keys";
import { CORES, cpuUsed, sampleCpu, type CpuSample } from "./cpu";
import { startEdge, type EdgeHandle } from "../stack/edge";
import { startInspectorProfile } from "./inspector-profile";
import { sqsEnvironment, startSqs, type SqsHandle } from "../stack/sqs";

// ---- autocannon (CommonJS, no bundled types): the few parts used here -------------------------

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  requests?: AutocannonRequest[];
  verifyBody?: (body: string) => boolean;
  /** Seconds per request before it counts as a timeout. */
  timeout?: number;
}

interface AutocannonResult {
  /** Seconds. */
  duration: number;
  requests: { total: number; sent: number; average: number };
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
  "2xx": number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: "response", listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): this;
  stop(): void;
}

const autocannon = createRequire(import.meta.url)("autocannon") as (options: AutocannonOptions) => AutocannonInstance;

// ---- options ----------------------------------------------------------------------------------

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    warmup: { type: "string", default: "2" },
    profile: { type: "string" },
  },
});

function numberOption(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const DURATION_S = numberOption("duration", values.duration, 1, 600);
const CONNECTIONS = numberOption("connections", values.connections, 1, 1024);
const WARMUP_S = numberOption("warmup", values.warmup, 0, 60);
/** Per-request timeout; a stalled worker shows up as errors instead of hanging the run. */
const REQUEST_TIMEOUT_S = 10;
/** Hard stop for the whole run: two cold edge starts plus both loads, with room to spare. */
const DEADLINE_MS = 2 * 90_000 + 2 * (WARMUP_S + DURATION_S) * 1000 + 60_000;

// ---- lifecycle --------------------------------------------------------------------------------

const stops: Array<() => Promise<unknown>> = [];
let stopping: Promise<void> | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  })();
  return stopping;
}
async function exitWith(code: number): Promise<never> {
  await stopAll();
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    void exitWith(130);
  });
}
const deadline = setTimeout(() => {
  console.error(`bench:edge: gave up after ${Math.round(DEADLINE_MS / 1000)} s`);
  void exitWith(1);
}, DEADLINE_MS);
deadline.unref();

// ---- load -------------------------------------------------------------------------------------

interface Target {
  name: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  expectedBody: string;
}

interface Measured {
  name: string;
  requests: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  ok2xx: number;
  /** Requests written, answered or not: the load stops with up to one request per connection in flight. */
  sent: number;
  statusCodes: Record<string, { count: number }>;
  /** CPU seconds over the measured run: workerd (the target's), this process, the machine (/proc). */
  cpu?: CpuSample;
}

let nextUpdateId = 1;
/** A valid Telegram text update, new `update_id` each call; both targets get bodies from here. */
function nextBody(): string {
  const updateId = nextUpdateId++;
  return JSON.stringify(textUpdate(`benchmark message ${updateId}`, { updateId, chatId: 1000 + (updateId % 256) }));
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function drive(target: Target, durationS: number): Promise<Measured> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: target.url,
    connections: CONNECTIONS,
    duration: durationS,
    timeout: REQUEST_TIMEOUT_S,
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    requests: [
      {
        method: "POST",
        path: target.path,
        setupRequest: (request) => {
          request.body = nextBody();
          return request;
        },
      },
    ],
    verifyBody: (body) => body === target.expectedBody,
  });
  instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
  });
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  const requests = result.requests.total;
  return {
    name: target.name,
    requests,
    reqPerSec: result.duration > 0 ? requests / result.duration : 0,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    ok2xx: result["2xx"],
    sent: result.requests.sent,
    statusCodes: result.statusCodeStats,
  };
}

/** One request by hand first, so a misconfigured target fails with its answer, not with N non-2xx. */
async function preflight(target: Target): Promise<void> {
  const response = await fetch(`${target.url}${target.path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: nextBody(),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000),
  });
  const body = await response.text();
  if (response.status !== 200 || body !== target.expectedBody) {
    throw new Error(`${target.name}: POST ${target.path} answered ${response.status} ${body.slice(0, 500)}`);
  }
}

async function queueDepth(sqs: SqsHandle): Promise<number> {
  const client = new SQSClient({
    endpoint: sqs.endpoint,
    region: sqs.region,
    credentials: { accessKeyId: sqs.accessKeyId, secretAccessKey: sqs.secretAccessKey },
  });
  try {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.inboundQueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
  } finally {
    client.destroy();
  }
}

// ---- report -----------------------------------------------------------------------------------

function printTable(rows: Measured[]): void {
  const header = ["target", "requests", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors"];
  const cells = rows.map((row) => [
    row.name,
    String(row.requests),
    row.reqPerSec.toFixed(0),
    row.p50.toFixed(2),
    row.p99.toFixed(2),
    String(row.non2xx),
    String(row.errors),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i]!.length)));
  const format = (line: string[]) => line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of cells) console.log(format(line));
}

function ratio(a: number, b: number): string {
  return b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : "n/a";
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const keys = generateKeys();
  const address: ChannelAddress = { tenantId: randomUUID(), channelId: randomUUID() };
  const secret = await telegramWebhookSecret(keys.WEBHOOK_SIGNING_KEY, address);

  const sqs = await startSqs({});
  stops.push(() => sqs.stop());
  const edge: EdgeHandle = await startEdge({
    vars: {
      WEBHOOK_SIGNING_KEY: keys.WEBHOOK_SIGNING_KEY,
      ...sqsEnvironment(sqs),
      LOG_LEVEL: "warn",
    },
    inspector: Boolean(values.profile),
    output: "quiet",
  });
  stops.push(() => edge.stop());
  const bare: EdgeHandle = await startEdge({ config: "scripts/bench/bare-wrangler.toml", output: "quiet" });
  stops.push(() => bare.stop());

  const targets: Target[] = [
    {
      name: "webhook",
      url: edge.url,
      path: `/webhooks/telegram/${formatChannelAddress(address)}`,
      headers: { "x-telegram-bot-api-secret-token": secret },
      expectedBody: JSON.stringify({ ok: true }),
    },
    { name: "bare", url: bare.url, path: "/", headers: {}, expectedBody: "ok" },
  ];
  console.log(
    `bench:edge  ${CONNECTIONS} connections, ${DURATION_S} s per target (after ${WARMUP_S} s warm-up), ` +
      `body ~${Buffer.byteLength(nextBody())} bytes; edge ${edge.url}, bare ${bare.url}, sqs ${sqs.endpoint}`,
  );

  // Every webhook 2xx (preflight and warm-up included) is a message in the queue; every request
  // written may be one, since the worker finishes the ones in flight when the load stops.
  let webhook2xx = 0;
  let webhookSent = 0;
  const tally = (target: Target, answered2xx: number, sent: number) => {
    if (target.name !== "webhook") return;
    webhook2xx += answered2xx;
    webhookSent += sent;
  };
  const results: Measured[] = [];
  let failed = false;
  for (const target of targets) {
    await preflight(target);
    tally(target, 1, 1);
    if (WARMUP_S > 0) {
      const warm = await drive(target, WARMUP_S);
      tally(target, warm.ok2xx, warm.sent);
      if (warm.non2xx || warm.errors || warm.mismatches) {
        console.error(`${target.name} warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors, ${warm.mismatches} unexpected bodies`);
        failed = true;
      }
    }
    const profiling = target.name === "webhook" && edge.inspectorPort ? await startInspectorProfile(edge.inspectorPort) : undefined;
    const workerd = { edge: (target.name === "webhook" ? edge : bare).pid, pools: [] };
    const cpuBefore = sampleCpu(workerd);
    const measured = await drive(target, DURATION_S);
    measured.cpu = cpuUsed(cpuBefore, sampleCpu(workerd));
    if (profiling) {
      await writeFile(values.profile!, JSON.stringify(await profiling.stop()));
      console.log(`the edge's CPU profile during the webhook run: ${values.profile}`);
    }
    tally(target, measured.ok2xx, measured.sent);
    results.push(measured);
  }

  console.log("");
  printTable(results);
  const [hook, floor] = results as [Measured, Measured];
  console.log("");
  console.log(
    `webhook/bare  req/s ${ratio(hook.reqPerSec, floor.reqPerSec)}  p50 ${ratio(hook.p50, floor.p50)}  p99 ${ratio(hook.p99, floor.p99)}`,
  );

  if (results.every((row) => row.cpu && Number.isFinite(row.cpu.machineTotal))) {
    console.log("");
    console.log(
      `CPU per request (ms): workerd; this process (load generator, and the SQS emulator the webhook sends to); busy cores of ${CORES}`,
    );
    for (const row of results) {
      const per = (seconds: number) => ((seconds * 1000) / Math.max(1, row.requests)).toFixed(2);
      console.log(
        `${row.name.padEnd(8)} ${per(row.cpu!.workerd).padStart(6)} ${per(row.cpu!.self).padStart(6)} ${((row.cpu!.machineBusy / row.cpu!.machineTotal) * CORES).toFixed(2).padStart(6)}`,
      );
    }
  }

  const enqueued = await queueDepth(sqs);
  console.log(
    `messages enqueued: ${enqueued} (webhook, preflight and warm-up included: ${webhook2xx} answered 2xx, ` +
      `${webhookSent} sent; the rest were in flight when the load stopped)`,
  );

  for (const row of results) {
    if (row.non2xx || row.errors || row.mismatches) {
      failed = true;
      const codes = Object.entries(row.statusCodes)
        .map(([code, { count }]) => `${code}×${count}`)
        .join(", ");
      console.error(
        `${row.name}: ${row.non2xx} non-2xx, ${row.errors} errors (${row.timeouts} timeouts), ` +
          `${row.mismatches} unexpected bodies; status codes: ${codes || "none"}`,
      );
    }
  }
  if (!(enqueued >= webhook2xx && enqueued <= webhookSent)) {
    console.error(`the queue holds ${enqueued} messages; expected from ${webhook2xx} (accepted) to ${webhookSent} (sent)`);
    failed = true;
  }
  return failed ? 1 : 0;
}

let code: number;
try {
  code = await main();
} catch (error) {
  console.error("bench:edge failed:", error instanceof Error ? error.message : error);
  code = 1;
}
await exitWith(code);
