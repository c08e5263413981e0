/**
 * `npm run bench:capacity`: the per-unit costs docs/capacity.md is derived from, measured on the
 * real path (edge under workerd → SQS → pool → offline model → fake Telegram) at a steady rate
 * below saturation. It starts its own stack (DATABASE_URL's PostgreSQL when set, else PGlite),
 * warms it up, then reads CPU time from /proc around the measured run:
 *   - edge CPU per webhook: workerd's CPU over accepted webhooks (the Worker's own CPU time is
 *     part of it; the edge runner's Node process, which runs Miniflare, is reported apart);
 *   - pool CPU per turn and its resident memory;
 *   - database CPU per turn (PostgreSQL only: every `postgres` process of the machine, so run it
 *     on a quiet machine) and bytes written per turn (database size growth, and the messages
 *     table's bytes per row).
 *   --rate N         webhooks per second (default 20)
 *   --duration S     seconds measured (default 20)
 *   --conversations N  chats the messages rotate through (default 50)
 *   --without-chroma   no Chroma, so no conversation memory (by default the pool writes one memory
 *                      vector per turn and Chroma's CPU per turn is reported)
 */
import { sql } from "drizzle-orm";
import { mkdtemp } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createPoolDb } from "../../db/client";
import { startLocalStack, type LocalStack } from "../local-stack";
import { runOwningStack } from "../resilience/bounded-run";
import { runLoad, type LoadOptions } from "../resilience/load-run";
import { numberFlag, ownStackTarget } from "../resilience/stack-target";
import { cpuUsed, sampleCpu } from "./cpu";

const { values } = parseArgs({
  options: {
    rate: { type: "string" },
    duration: { type: "string" },
    conversations: { type: "string" },
    "without-chroma": { type: "boolean", default: false },
  },
});
const measured: LoadOptions = {
  rate: numberFlag(values, "rate", 20, 1, 500),
  durationS: numberFlag(values, "duration", 20, 5, 300),
  conversations: numberFlag(values, "conversations", 50, 1, 10_000),
  drainS: 60,
};

function residentMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

async function main(own: <T extends LocalStack>(stack: T) => T): Promise<number> {
  const onPostgres = Boolean(process.env.DATABASE_URL);
  const logFile = join(await mkdtemp(join(tmpdir(), "agent-capacity-")), "services.log");
  console.log(
    `bench:capacity: starting a local stack on ${onPostgres ? "PostgreSQL (DATABASE_URL)" : "PGlite"}; service output in ${logFile}`,
  );
  const stack = own(
    await startLocalStack({
      withChroma: !values["without-chroma"],
      ...(onPostgres ? { databaseUrl: process.env.DATABASE_URL! } : {}),
      output: { file: logFile },
      poolEnv: { LOG_LEVEL: "warn" },
    }),
  );
  const target = await ownStackTarget(stack);
  const admin = createPoolDb(stack.database.adminUrl, { max: 1 });
  const databaseBytes = async () => {
    const { rows } = await admin.db.execute<{ bytes: string; messages: string; rows: string }>(
      sql`select pg_database_size(current_database()) as bytes, pg_total_relation_size('messages') as messages, (select count(*) from messages) as rows`,
    );
    return { total: Number(rows[0]!.bytes), messages: Number(rows[0]!.messages), rows: Number(rows[0]!.rows) };
  };

  try {
    console.log("warming up (5 s at the same rate)…");
    await runLoad(target, { ...measured, durationS: 5 });
    const groups = { edge: stack.edge.pid, pools: [stack.pool!.pid], chroma: stack.chroma?.pid };
    const bytesBefore = await databaseBytes();
    const cpuBefore = sampleCpu(groups);
    const started = performance.now();
    console.log(`measuring: ${measured.rate} webhooks/s for ${measured.durationS} s over ${measured.conversations} conversations…`);
    const figures = await runLoad(target, measured);
    const elapsedS = (performance.now() - started) / 1000;
    const cpuAfter = sampleCpu(groups);
    const bytesAfter = await databaseBytes();
    const poolRss = residentMiB(stack.pool!.pid);
    const used = cpuUsed(cpuBefore, cpuAfter);

    const perTurn = (seconds: number, count: number) => ((seconds * 1000) / Math.max(1, count)).toFixed(2);
    const turns = figures.answered;
    const lines = [
      ["webhooks accepted", `${figures.accepted} of ${figures.offered}`],
      ["turns answered", `${turns} (${figures.lost} lost, ${figures.duplicates} answered twice)`],
      ["reply latency p50 / p99", `${figures.e2eP50Ms.toFixed(0)} ms / ${figures.e2eP99Ms.toFixed(0)} ms`],
      ["edge CPU per webhook (workerd)", `${perTurn(used.workerd, figures.accepted)} ms`],
      ["  the edge runner's Node process (Miniflare), not in production", `${perTurn(used.edgeOther, figures.accepted)} ms`],
      ["pool CPU per turn", `${perTurn(used.pool, turns)} ms`],
      [
        "Chroma CPU per turn (one memory vector written, one recall)",
        groups.chroma ? `${perTurn(used.chroma, turns)} ms` : "n/a (--without-chroma)",
      ],
      ["pool resident memory", `${poolRss.toFixed(0)} MiB`],
      [
        "database CPU per turn",
        onPostgres ? `${perTurn(used.postgres, turns)} ms (every postgres process on the machine)` : "n/a on PGlite (in this process)",
      ],
      [
        "database growth per turn",
        `${((bytesAfter.total - bytesBefore.total) / Math.max(1, turns)).toFixed(0)} bytes (all tables and indexes)`,
      ],
      [
        "messages table per stored message",
        `${(bytesAfter.messages / Math.max(1, bytesAfter.rows)).toFixed(0)} bytes (${bytesAfter.rows} rows, with indexes and TOAST)`,
      ],
      [
        "CPU of these processes",
        `${(((used.workerd + used.edgeOther + used.pool + used.chroma + used.postgres) / elapsedS) * 100).toFixed(0)} % of one core over ${elapsedS.toFixed(1)} s`,
      ],
    ];
    const width = Math.max(...lines.map(([label]) => label!.length));
    console.log("");
    for (const [label, value] of lines) console.log(`${label!.padEnd(width)}  ${value}`);
  } finally {
    target.sqs.destroy();
    await admin.close();
  }
  return 0;
}

await runOwningStack("bench:capacity", 240_000 + measured.durationS * 1000, main);
