/**
 * Runs the SQS emulator as its own process, for `npm start` or by hand:
 *   tsx scripts/stack/sqs-process.ts --port 4566 [--queue-prefix dev-]
 * Prints one JSON line with the endpoint and queue urls once ready; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startSqs } from "./sqs";

const { values } = parseArgs({
  options: { port: { type: "string", default: "0" }, "queue-prefix": { type: "string", default: "" } },
});
const sqs = await startSqs({ port: Number(values.port), queuePrefix: values["queue-prefix"] });
const { stop: _stop, ...info } = sqs;
console.log(JSON.stringify(info));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void sqs.stop().finally(() => process.exit(0)));
}
