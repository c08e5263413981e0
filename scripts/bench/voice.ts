/**
 * `npm run bench:voice`: how soon a caller hears the agent. Concurrent calls through the real path
 * (the fake Twilio's call webhook → TwiML → the relay WebSocket into the call's Durable Object
 * under workerd → SQS → pool → offline model → back to the object → the WebSocket), each call
 * saying its next prompt once the last reply's text arrived. Prints the time from a final `prompt`
 * to the first `text` token (the reply streams as the model writes it) and to the reply's last
 * token, p50 and p99. Starts its own stack: PGlite, or DATABASE_URL's
 * PostgreSQL when set.
 *   --calls N      concurrent calls (default 10)
 *   --prompts N    prompts in all, spread over the calls (default 200)
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LOCAL_DEMO_TWILIO, startLocalStack, type LocalStack } from "../local-stack";
import { runOwningStack } from "../resilience/bounded-run";
import { numberFlag } from "../resilience/stack-target";

const { values } = parseArgs({ options: { calls: { type: "string" }, prompts: { type: "string" } } });
const calls = numberFlag(values, "calls", 10, 1, 100);
const prompts = numberFlag(values, "prompts", 200, 1, 10_000);

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(own: <T extends LocalStack>(stack: T) => T): Promise<number> {
  const onPostgres = Boolean(process.env.DATABASE_URL);
  const logFile = join(await mkdtemp(join(tmpdir(), "agent-bench-voice-")), "services.log");
  console.log(
    `bench:voice: starting a local stack on ${onPostgres ? "PostgreSQL (DATABASE_URL)" : "PGlite"}; service output in ${logFile}`,
  );
  const stack = own(
    await startLocalStack({
      withChroma: false,
      demoTwilio: true,
      ...(onPostgres ? { databaseUrl: process.env.DATABASE_URL! } : {}),
      output: { file: logFile },
      poolEnv: { LOG_LEVEL: "warn" },
    }),
  );
  const twilio = stack.twilio!;
  const firstTextMs: number[] = [];
  const wholeReplyMs: number[] = [];
  const caller = async (index: number, count: number) => {
    const call = await twilio.call({ from: `+1415555${String(1000 + index).padStart(4, "0")}`, to: LOCAL_DEMO_TWILIO.phoneNumber });
    // One warm-up exchange per call, not counted.
    call.say("hello");
    await call.nextReply(60_000);
    for (let n = 0; n < count; n++) {
      const started = performance.now();
      const first = call.nextToken(60_000);
      call.say(`question ${n} of call ${index}: when do you open?`);
      await first;
      firstTextMs.push(performance.now() - started);
      await call.nextReply(60_000);
      wholeReplyMs.push(performance.now() - started);
    }
    await call.hangUp();
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: calls }, (_, index) => caller(index, Math.floor(prompts / calls) + (index < prompts % calls ? 1 : 0))),
  );
  const seconds = (performance.now() - started) / 1000;
  const first = [...firstTextMs].sort((a, b) => a - b);
  const whole = [...wholeReplyMs].sort((a, b) => a - b);
  const line = (label: string, sorted: number[]) =>
    console.log(
      `${label}: p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
    );
  console.log(
    `\n${calls} concurrent calls, ${first.length} prompts in ${seconds.toFixed(1)} s (${onPostgres ? "PostgreSQL" : "PGlite"}, offline model)`,
  );
  line("prompt → first text token", first);
  line("prompt → last token of the reply", whole);
  return 0;
}

await runOwningStack("bench:voice", 600_000, main);
