/**
 * `npm run load`: a load test through the real webhook path (edge under workerd → SQS → pool →
 * model → fake Telegram), at a fixed rate for a fixed time, then prints the figures. Uses the stack
 * `npm start` runs when there is one (offline model, fake Telegram), otherwise starts its own on
 * 127.0.0.1 and stops it at the end. Exits 1 when a message was lost or answered twice.
 *   --rate N           webhooks per second (default 50)
 *   --duration S       seconds of load (default 20)
 *   --conversations N  Telegram chats the messages rotate through (default 20)
 *   --drain S          how long to wait for the last replies (default 60)
 *   --concurrency N    POOL_CONCURRENCY of the pool it starts (own stack only; default the pool's)
 *   --own-stack        start a stack even when `npm start` is running
 * The stack it starts uses DATABASE_URL's PostgreSQL when set (as `npm start` does), else PGlite.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalStack, type LocalStack } from "./local-stack";
import { formatFigures, runLoad, type LoadOptions, type LoadTarget } from "./resilience/load-run";
import { numberFlag, ownStackTarget, runningStackTarget } from "./resilience/stack-target";
import { runOwningStack } from "./resilience/bounded-run";

const { values } = parseArgs({
  options: {
    rate: { type: "string" },
    duration: { type: "string" },
    conversations: { type: "string" },
    drain: { type: "string" },
    concurrency: { type: "string" },
    "own-stack": { type: "boolean", default: false },
  },
});
const options: LoadOptions = {
  rate: numberFlag(values, "rate", 50, 0.1, 2_000),
  durationS: numberFlag(values, "duration", 20, 1, 600),
  conversations: numberFlag(values, "conversations", 20, 1, 10_000),
  drainS: numberFlag(values, "drain", 60, 1, 600),
};
const concurrency = values.concurrency === undefined ? undefined : numberFlag(values, "concurrency", 10, 1, 1_000);

async function main(own: <T extends LocalStack>(stack: T) => T): Promise<number> {
  let target: LoadTarget;
  const running = values["own-stack"] ? { reason: "--own-stack" } : await runningStackTarget();
  if ("target" in running) {
    target = running.target;
    console.log(`load: using ${running.describe}`);
  } else {
    const logFile = join(await mkdtemp(join(tmpdir(), "agent-load-")), "services.log");
    console.log(`load: starting a local stack (${running.reason}); service output in ${logFile}`);
    const stack = own(
      await startLocalStack({
        withChroma: false,
        // As `npm start`: the machine's PostgreSQL when DATABASE_URL is set, else embedded PGlite.
        ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
        output: { file: logFile },
        poolEnv: { LOG_LEVEL: "warn", ...(concurrency ? { POOL_CONCURRENCY: String(concurrency) } : {}) },
      }),
    );
    target = await ownStackTarget(stack);
  }
  console.log(`load: ${options.rate} webhooks/s for ${options.durationS} s over ${options.conversations} conversations…\n`);
  const figures = await runLoad(target, options);
  target.sqs.destroy();
  console.log(formatFigures(figures, options));
  const failed = figures.lost > 0 || figures.duplicates > 0;
  console.log(failed ? "\nFAIL: messages were lost or answered twice" : "\nOK: nothing lost, nothing answered twice");
  return failed ? 1 : 0;
}

// Hard stop: a cold stack start, the load and the drain, with room to spare.
await runOwningStack("load", 180_000 + (options.durationS + options.drainS) * 1000, main);
