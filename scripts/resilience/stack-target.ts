import { SQSClient } from "@aws-sdk/client-sqs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseChannelAddress } from "../../core/channels/address";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { loadOrCreateKeys } from "../local-keys";
import { PROJECT_ROOT, type LocalStack, type StackState } from "../local-stack";
import { sqsClientFor } from "../stack/sqs";
import type { LoadTarget } from "./load-run";

/**
 * The stack `npm start` runs, when `.data/stack.json` names a live one that answers with the fake
 * Telegram API and the offline model; otherwise undefined (with the reason), and the caller starts
 * its own. A stack talking to the real Telegram or a paid model is never loaded.
 */
export async function runningStackTarget(): Promise<{ target: LoadTarget; describe: string } | { reason: string }> {
  const dataDir = join(PROJECT_ROOT, ".data");
  let state: StackState;
  try {
    state = JSON.parse(await readFile(join(dataDir, "stack.json"), "utf8")) as StackState;
  } catch {
    return { reason: "no .data/stack.json" };
  }
  try {
    process.kill(state.pid, 0);
  } catch {
    return { reason: `the stack process ${state.pid} is gone` };
  }
  if (!state.sqs || !state.demoChannelAddress) return { reason: "stack.json predates the load test (restart `npm start`)" };
  if (state.model !== "offline") return { reason: "the running stack answers with a paid model (OPENAI_API_KEY)" };
  const address = parseChannelAddress(state.demoChannelAddress);
  if (!address) return { reason: "stack.json has no valid demo channel" };
  const edge = await fetch(`${state.edgeUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  if (!edge?.ok) return { reason: `the edge at ${state.edgeUrl} does not answer` };
  const fake = await fetch(`${state.telegramApiBase}/_fake/sent?offset=${Number.MAX_SAFE_INTEGER}`, {
    signal: AbortSignal.timeout(2_000),
  }).catch(() => undefined);
  if (!fake?.ok) return { reason: "the running stack talks to the real Telegram" };

  const keys = await loadOrCreateKeys(join(dataDir, "keys.json"));
  const sqs = new SQSClient({
    endpoint: state.sqs.endpoint,
    region: state.sqs.region,
    // The emulator accepts any credentials; stack.json holds none.
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return {
    target: {
      webhookUrl: `${state.edgeUrl}/webhooks/telegram/${state.demoChannelAddress}`,
      secret: await telegramWebhookSecret(keys.WEBHOOK_SIGNING_KEY, address),
      telegramApiBase: state.telegramApiBase,
      sqs,
      inboundQueueUrl: state.sqs.inboundQueueUrl,
      deadLetterQueueUrl: state.sqs.deadLetterQueueUrl,
    },
    describe: `the running stack (npm start, pid ${state.pid}) at ${state.edgeUrl}`,
  };
}

/** The load target of a stack this process started (with the fake Telegram and a demo channel). */
export async function ownStackTarget(stack: LocalStack): Promise<LoadTarget> {
  if (!stack.demo || !stack.telegram) throw new Error("the stack needs the demo channel and the fake Telegram API");
  return {
    webhookUrl: `${stack.edge.url}/webhooks/telegram/${stack.demo.address}`,
    secret: await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, parseChannelAddress(stack.demo.address)!),
    telegramApiBase: stack.telegram.url,
    sqs: sqsClientFor(stack.sqs),
    inboundQueueUrl: stack.sqs.inboundQueueUrl,
    deadLetterQueueUrl: stack.sqs.deadLetterQueueUrl,
  };
}

/** `--name value` flags as whole numbers within bounds; exits with a usage line otherwise. */
export function numberFlag(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}
