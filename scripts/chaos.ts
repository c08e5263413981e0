/**
 * `npm run chaos`: the load test while things break. It starts its own stack on 127.0.0.1 (it has
 * to own the pool and the database to kill them) with a zero-latency OpenAI fake as the model, and
 * while the load runs it cycles through faults: SIGKILL the pool and start another, restart the
 * database (PGlite: stop, wait, start on the same port and data), make the model answer 500 for a
 * while, SIGTERM the pool and start another. Then it prints the load figures. The bar: nothing lost,
 * nothing answered twice (exit 1 otherwise).
 *   --rate N --duration S --conversations N --drain S   as for `npm run load` (defaults 40, 30, 20, 90)
 *   --fault-every S    seconds between faults (default 4)
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeOpenAI, type FakeOpenAI } from "../test/fakes/openai";
import { sleep } from "../workers/pool/backoff";
import { startLocalStack, type LocalStack, type PoolProcess } from "./local-stack";
import { formatFigures, runLoad, type LoadOptions } from "./resilience/load-run";
import { numberFlag, ownStackTarget } from "./resilience/stack-target";
import { killProcessTree } from "./stack/child";
import { boundRun } from "./resilience/bounded-run";

const { values } = parseArgs({
  options: {
    rate: { type: "string" },
    duration: { type: "string" },
    conversations: { type: "string" },
    drain: { type: "string" },
    "fault-every": { type: "string" },
  },
});
const options: LoadOptions = {
  rate: numberFlag(values, "rate", 40, 0.1, 1_000),
  durationS: numberFlag(values, "duration", 30, 5, 600),
  conversations: numberFlag(values, "conversations", 20, 1, 10_000),
  drainS: numberFlag(values, "drain", 90, 1, 600),
};
const faultEveryS = numberFlag(values, "fault-every", 4, 1, 120);
const API_KEY = "sk-chaos-local-fake";

let stack: LocalStack | undefined;
let openai: FakeOpenAI | undefined;
const cleanUp = async () => {
  const [running, model] = [stack, openai];
  stack = undefined;
  openai = undefined;
  await running?.stop();
  await model?.close();
};
boundRun("chaos", 240_000 + (options.durationS + options.drainS) * 1000, cleanUp);

type Fault = "SIGKILL pool" | "restart database" | "model outage" | "SIGTERM pool";
const FAULTS: Fault[] = ["SIGKILL pool", "restart database", "model outage", "SIGTERM pool"];

async function main(): Promise<number> {
  openai = await startFakeOpenAI({ apiKey: API_KEY });
  const logFile = join(await mkdtemp(join(tmpdir(), "agent-chaos-")), "services.log");
  console.log(`chaos: starting a local stack; service output in ${logFile}`);
  stack = await startLocalStack({
    withChroma: false,
    output: { file: logFile },
    poolEnv: {
      LOG_LEVEL: "warn",
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: openai.baseUrl,
      // A killed pool's messages come back after 6 s instead of 30; the heartbeat covers long turns.
      POOL_VISIBILITY_TIMEOUT: "6",
      POOL_WAIT_TIME_SECONDS: "2",
      POOL_BACKOFF_MAX_MS: "4000",
      POOL_SHUTDOWN_TIMEOUT_SECONDS: "5",
    },
  });
  const target = await ownStackTarget(stack);
  let pool: PoolProcess = stack.pool!;
  const started = Date.now();
  let crashes = 0;
  let finished = false;
  // Like an orchestrator: a pool that exits when nobody stopped it is counted and replaced.
  const supervise = (watched: PoolProcess) => {
    void watched.exited.then(async (exit) => {
      if (finished || watched !== pool || expectedExits.has(watched.pid)) return;
      crashes++;
      note(`pool ${watched.pid} CRASHED (exit ${exit.signal ?? exit.code}): ${lastLine(watched.recentOutput())}`);
      pool = await stack!.startPool();
      supervise(pool);
    });
  };
  const expectedExits = new Set<number>();
  const at = () => `t=${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  const faultLog: string[] = [];
  const note = (line: string) => {
    faultLog.push(`${at()}  ${line}`);
    console.log(`  ${at()}  ${line}`);
  };

  const injectFault = async (fault: Fault) => {
    const began = Date.now();
    const took = () => `${((Date.now() - began) / 1000).toFixed(1)} s`;
    switch (fault) {
      case "SIGKILL pool":
      case "SIGTERM pool": {
        const old = pool;
        expectedExits.add(old.pid);
        if (fault === "SIGKILL pool") {
          killProcessTree(old.pid, "SIGKILL");
          await old.exited;
        } else {
          await old.stop(15_000);
        }
        const exit = await old.exited;
        pool = await stack!.startPool();
        supervise(pool);
        note(`${fault} ${old.pid} (exit ${exit.signal ?? exit.code}) → new pool ${pool.pid} ready after ${took()}`);
        return;
      }
      case "restart database":
        await stack!.stopDatabase();
        await sleep(2_000);
        await stack!.startDatabase();
        note(`database stopped for 2 s and started again (${took()})`);
        return;
      case "model outage":
        // Every request fails until the outage ends (failNext with a count no run reaches).
        openai!.failNext(Number.MAX_SAFE_INTEGER, 500);
        await sleep(3_000);
        openai!.failNext(0, 500);
        note(`model answered 500 for 3 s`);
        return;
    }
  };

  console.log(
    `chaos: ${options.rate} webhooks/s for ${options.durationS} s over ${options.conversations} conversations; a fault every ${faultEveryS} s…\n`,
  );
  supervise(pool);
  const faults = (async () => {
    for (let i = 0; ; i++) {
      await sleep(faultEveryS * 1000);
      if (Date.now() - started > (options.durationS - 2) * 1000) return;
      await injectFault(FAULTS[i % FAULTS.length]!);
    }
  })();
  const figures = await runLoad(target, options);
  await faults;
  finished = true;
  target.sqs.destroy();
  console.log(`\n${faultLog.length} faults injected; pool crashes: ${crashes}`);
  console.log(formatFigures(figures, options));
  console.log(`model requests     ${openai.requests.length} (including failed ones)`);
  const failed = figures.lost > 0 || figures.duplicates > 0 || crashes > 0;
  console.log(failed ? "\nFAIL: messages were lost or answered twice, or a pool crashed" : "\nOK: nothing lost, nothing answered twice");
  return failed ? 1 : 0;
}

function lastLine(output: string): string {
  return (
    output
      .trim()
      .split("\n")
      .findLast((line) => /error|Error/.test(line)) ?? ""
  ).slice(0, 200);
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`chaos failed: ${error instanceof Error ? error.message : String(error)}`);
}
await cleanUp();
process.exit(code);
