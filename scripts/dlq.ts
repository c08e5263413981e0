/**
 * `npm run dlq -- <command>`: the dead-letter queue of the inbound queue.
 *   list                 every dead-lettered message: id, conversation, when, last error
 *   inspect <id>         one message in full: body, failure attributes
 *   replay <id>|--all    send back to the inbound queue (same conversation group), then delete
 * Against the stack `npm start` runs (endpoints from .data/stack.json), or a real SQS:
 *   --queue-url URL      the inbound queue (env INBOUND_QUEUE_URL)
 *   --dlq-url URL        the dead-letter queue (env DEAD_LETTER_QUEUE_URL; default: from the
 *                        inbound queue's redrive policy)
 *   --endpoint URL       SQS endpoint (env SQS_ENDPOINT; unset for AWS)
 *   --region R           (env SQS_REGION, AWS_REGION; default us-east-1)
 * Credentials for a real SQS come from SQS_ACCESS_KEY_ID/SQS_SECRET_ACCESS_KEY or the AWS SDK's
 * default chain. `--json` prints JSON instead of a table.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { browseDeadLetters, replayDeadLetter, resolveDeadLetterTarget, type DeadLetter } from "../workers/pool/dead-letter";
import { PROJECT_ROOT, type StackState } from "./local-stack";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "queue-url": { type: "string" },
    "dlq-url": { type: "string" },
    endpoint: { type: "string" },
    region: { type: "string" },
    all: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

const USAGE =
  "usage: npm run dlq -- list | inspect <message-id> | replay <message-id>|--all  [--queue-url URL] [--dlq-url URL] [--endpoint URL] [--region R] [--json]";

interface Queues {
  sqs: SQSClient;
  inboundQueueUrl: string;
  deadLetterUrl: string;
}

async function connect(): Promise<Queues> {
  const env = process.env;
  let inboundQueueUrl = values["queue-url"] ?? env.INBOUND_QUEUE_URL;
  let deadLetterUrl = values["dlq-url"] ?? env.DEAD_LETTER_QUEUE_URL;
  let endpoint = values.endpoint ?? env.SQS_ENDPOINT;
  let region = values.region ?? env.SQS_REGION ?? env.AWS_REGION ?? "us-east-1";
  let local = false;
  if (!inboundQueueUrl) {
    const state = await readFile(join(PROJECT_ROOT, ".data", "stack.json"), "utf8")
      .then((text) => JSON.parse(text) as StackState)
      .catch(() => undefined);
    if (!state?.sqs)
      throw new Error("no queue given (--queue-url) and no running local stack (.data/stack.json): start it with `npm start`");
    ({
      inboundQueueUrl,
      deadLetterQueueUrl: deadLetterUrl,
      endpoint,
      region,
    } = { ...state.sqs, deadLetterQueueUrl: deadLetterUrl ?? state.sqs.deadLetterQueueUrl });
    local = true;
  }
  const keyId = env.SQS_ACCESS_KEY_ID;
  const secret = env.SQS_SECRET_ACCESS_KEY;
  const sqs = new SQSClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    // The local emulator takes any credentials; elsewhere the SDK's default chain unless given.
    ...(keyId && secret
      ? { credentials: { accessKeyId: keyId, secretAccessKey: secret } }
      : local
        ? { credentials: { accessKeyId: "test", secretAccessKey: "test" } }
        : {}),
  });
  if (!deadLetterUrl) {
    const target = await resolveDeadLetterTarget(sqs, inboundQueueUrl!);
    if (!target) throw new Error(`${inboundQueueUrl} has no redrive policy: give --dlq-url`);
    deadLetterUrl = target.queueUrl;
  }
  return { sqs, inboundQueueUrl: inboundQueueUrl!, deadLetterUrl };
}

function summary(letter: DeadLetter): Record<string, unknown> {
  let conversation: string | undefined;
  let text: string | undefined;
  try {
    const body = JSON.parse(letter.body) as { conversationKey?: string; text?: string; tenantId?: string };
    conversation = body.conversationKey;
    text = typeof body.text === "string" ? body.text : undefined;
  } catch {
    // not JSON: shown as is by inspect
  }
  return {
    id: letter.messageId,
    group: letter.groupId,
    conversation,
    enqueuedAt: letter.enqueuedAt,
    error: letter.failure ? `${letter.failure.code}: ${letter.failure.message}` : "(moved by the redrive policy; no error recorded)",
    receives: letter.failure?.receiveCount,
    preview: text === undefined ? letter.body.slice(0, 40) : text.slice(0, 40),
  };
}

async function main(): Promise<number> {
  const [command, id] = positionals;
  if (!command || !["list", "inspect", "replay"].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  if ((command === "inspect" && !id) || (command === "replay" && !id && !values.all)) {
    console.error(USAGE);
    return 2;
  }
  const queues = await connect();
  // Held invisible while we look; released (or replayed) before we exit.
  const browse = await browseDeadLetters(queues.sqs, queues.deadLetterUrl, { holdSeconds: 60 });
  try {
    if (command === "list") {
      const rows = browse.letters.map(summary);
      if (values.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log(`The dead-letter queue is empty (${queues.deadLetterUrl}).`);
      else {
        console.log(`${rows.length} dead-lettered message(s) in ${queues.deadLetterUrl}:\n`);
        for (const row of rows) {
          console.log(`${row.id}  ${row.enqueuedAt ?? ""}  conversation ${row.conversation ?? "?"}  receives ${row.receives ?? "?"}`);
          console.log(`    ${row.error}`);
          console.log(`    ${JSON.stringify(row.preview)}`);
        }
      }
      return 0;
    }
    const chosen = command === "replay" && values.all ? browse.letters : browse.letters.filter((letter) => letter.messageId === id);
    if (chosen.length === 0 && !(command === "replay" && values.all)) {
      console.error(`no dead-lettered message ${id}`);
      return 1;
    }
    if (command === "inspect") {
      const letter = chosen[0]!;
      let body: unknown = letter.body;
      try {
        body = JSON.parse(letter.body);
      } catch {
        // shown raw
      }
      const detail = { ...summary(letter), failure: letter.failure, body };
      console.log(JSON.stringify(detail, null, 2));
      return 0;
    }
    for (const letter of chosen) {
      await replayDeadLetter(queues.sqs, letter, queues.deadLetterUrl, queues.inboundQueueUrl);
      letter.receiptHandle = ""; // gone: nothing to release
    }
    if (values.json) console.log(JSON.stringify({ replayed: chosen.map((letter) => letter.messageId) }));
    else console.log(`Replayed ${chosen.length} message(s) to ${queues.inboundQueueUrl}.`);
    return 0;
  } finally {
    await browse.release();
    queues.sqs.destroy();
  }
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`dlq: ${error instanceof Error ? error.message : String(error)}`);
}
process.exit(code);
