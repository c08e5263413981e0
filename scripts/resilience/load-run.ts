import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { randomBytes } from "node:crypto";
import { sleep } from "../../workers/pool/backoff";

/** Where the load goes and where its effects are read back. */
export interface LoadTarget {
  webhookUrl: string;
  /** `X-Telegram-Bot-Api-Secret-Token` for the channel. */
  secret: string;
  /** Base URL of the fake Telegram API (its `/_fake/sent` log gives the replies and their times). */
  telegramApiBase: string;
  sqs: SQSClient;
  inboundQueueUrl: string;
  deadLetterQueueUrl: string;
}

export interface LoadOptions {
  /** Webhooks per second, spread evenly (an open-loop generator: a slow edge does not slow the offered load). */
  rate: number;
  durationS: number;
  /** Distinct Telegram chats (conversations) the messages rotate through. */
  conversations: number;
  /** After the load stops: how long to wait for every accepted message to be answered and the queue to empty. */
  drainS: number;
  /** Called about once a second while the load runs and drains (the chaos test's fault schedule hooks in here). */
  onSecond?: (elapsedS: number) => void;
}

export interface LoadFigures {
  offered: number;
  accepted: number;
  rejected: Record<string, number>;
  edgeP50Ms: number;
  edgeP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  turnsPerSecond: number;
  answered: number;
  lost: number;
  duplicates: number;
  /** Seconds from the start at which each duplicate reply was sent (to line them up with faults). */
  duplicatesAt: number[];
  outOfOrder: number;
  deadLettered: number;
  /** Messages in the queue (visible + in flight), sampled once a second from the start. */
  queueDepth: number[];
  loadSeconds: number;
  drainSeconds: number;
}

interface Sent {
  seq: number;
  chatId: number;
  sentAt: number;
  status: number;
  edgeMs: number;
  replies: number[];
}

const MAX_OUTSTANDING = 512;

/**
 * Drives the webhook at a fixed rate with unique, correlatable Telegram updates (`load RUN #SEQ`:
 * the model fakes echo the text, so a reply names the message it answers), reads the replies back
 * from the fake Telegram's log, and computes the figures. Stops by itself: after `durationS` of
 * load and at most `drainS` of waiting.
 */
export async function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadFigures> {
  const runId = randomBytes(3).toString("hex");
  const chatBase = 700_000_000 + Math.floor(Math.random() * 100_000_000);
  const updateBase = Math.floor(Date.now() / 1000) * 1000;
  const total = Math.max(1, Math.round(options.rate * options.durationS));
  const sent: Sent[] = [];
  const pattern = new RegExp(`load ${runId} #(\\d+)\\b`);
  let outstanding = 0;
  let offsetIntoLog = await sentLogLength(target.telegramApiBase);
  const inflightRequests = new Set<Promise<void>>();

  const post = async (seq: number) => {
    const chatId = chatBase + (seq % options.conversations);
    const body = JSON.stringify({
      update_id: updateBase + seq,
      message: {
        message_id: seq + 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: "private", first_name: "Load" },
        from: { id: chatId, is_bot: false, first_name: "Load" },
        text: `load ${runId} #${seq}`,
      },
    });
    const record: Sent = { seq, chatId, sentAt: Date.now(), status: 0, edgeMs: 0, replies: [] };
    sent[seq] = record;
    const started = performance.now();
    try {
      // Node's fetch keeps connections alive per origin: a loopback client costs little per request.
      const response = await fetch(target.webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": target.secret },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      record.status = response.status;
    } catch {
      record.status = -1;
    }
    record.edgeMs = performance.now() - started;
  };

  // The sampler and the drain loop both read; one at a time, or a page would be counted twice.
  let reading: Promise<void> = Promise.resolve();
  const readReplies = () => {
    reading = reading.catch(() => undefined).then(readRepliesOnce);
    return reading;
  };
  const readRepliesOnce = async () => {
    const response = await fetch(`${target.telegramApiBase}/_fake/sent?offset=${offsetIntoLog}`, { signal: AbortSignal.timeout(5_000) });
    const page = (await response.json()) as { result: Array<{ text: string; sent_at_ms: number }>; next: number };
    offsetIntoLog = page.next;
    for (const message of page.result) {
      const match = pattern.exec(message.text);
      const record = match ? sent[Number(match[1])] : undefined;
      record?.replies.push(message.sent_at_ms);
    }
  };

  const depthSeries: number[] = [];
  const sampleDepth = async () => {
    const { Attributes } = await target.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: target.inboundQueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  const started = Date.now();
  let stopSampling = false;
  const sampler = (async () => {
    for (let second = 0; !stopSampling; second++) {
      depthSeries.push(await sampleDepth().catch(() => Number.NaN));
      await readReplies().catch(() => undefined);
      options.onSecond?.(second);
      await sleep(Math.max(0, started + (second + 1) * 1000 - Date.now()));
    }
  })();

  // Load: message i is due at start + i / rate.
  for (let seq = 0; seq < total; seq++) {
    const due = started + (seq * 1000) / options.rate;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    while (outstanding >= MAX_OUTSTANDING) await sleep(5);
    outstanding++;
    const inflight = post(seq).finally(() => {
      outstanding--;
      inflightRequests.delete(inflight);
    });
    inflightRequests.add(inflight);
  }
  await Promise.all([...inflightRequests]);
  const loadEnded = Date.now();

  // Drain: until every accepted message has its reply and nothing is left in the queue (a message
  // still in flight could yet produce a duplicate), or the drain time is up.
  const accepted = () => sent.filter((record) => record.status >= 200 && record.status < 300);
  const drainDeadline = loadEnded + options.drainS * 1000;
  while (Date.now() < drainDeadline) {
    await readReplies().catch(() => undefined);
    const waiting = accepted().some((record) => record.replies.length === 0);
    if (!waiting && (await sampleDepth().catch(() => 1)) === 0) break;
    await sleep(250);
  }
  await readReplies().catch(() => undefined);
  stopSampling = true;
  await sampler;
  const drainEnded = Date.now();

  const ok = accepted();
  const answered = ok.filter((record) => record.replies.length > 0);
  const rejected: Record<string, number> = {};
  for (const record of sent) {
    if (record.status >= 200 && record.status < 300) continue;
    const key = record.status === -1 ? "network error" : String(record.status);
    rejected[key] = (rejected[key] ?? 0) + 1;
  }
  const lastReply = Math.max(started, ...answered.map((record) => Math.min(...record.replies)));
  return {
    offered: sent.length,
    accepted: ok.length,
    rejected,
    edgeP50Ms: percentile(
      ok.map((record) => record.edgeMs),
      50,
    ),
    edgeP99Ms: percentile(
      ok.map((record) => record.edgeMs),
      99,
    ),
    e2eP50Ms: percentile(
      answered.map((record) => Math.min(...record.replies) - record.sentAt),
      50,
    ),
    e2eP99Ms: percentile(
      answered.map((record) => Math.min(...record.replies) - record.sentAt),
      99,
    ),
    turnsPerSecond: answered.length / Math.max(0.001, (lastReply - started) / 1000),
    answered: answered.length,
    lost: ok.length - answered.length,
    duplicates: ok.reduce((sum, record) => sum + Math.max(0, record.replies.length - 1), 0),
    duplicatesAt: ok.flatMap((record) =>
      [...record.replies]
        .sort((a, b) => a - b)
        .slice(1)
        .map((at) => (at - started) / 1000),
    ),
    outOfOrder: countOutOfOrder(answered),
    deadLettered: await deadLetterDepth(target).catch(() => Number.NaN),
    queueDepth: depthSeries,
    loadSeconds: (loadEnded - started) / 1000,
    drainSeconds: (drainEnded - loadEnded) / 1000,
  };
}

/** Per conversation, replies (by first reply time) must come in the order the messages were sent. */
function countOutOfOrder(answered: Sent[]): number {
  const byChat = new Map<number, Sent[]>();
  for (const record of answered) byChat.set(record.chatId, [...(byChat.get(record.chatId) ?? []), record]);
  let count = 0;
  for (const records of byChat.values()) {
    const bySeq = [...records].sort((a, b) => a.seq - b.seq);
    let latest = -Infinity;
    for (const record of bySeq) {
      const first = Math.min(...record.replies);
      if (first < latest) count++;
      latest = Math.max(latest, first);
    }
  }
  return count;
}

async function deadLetterDepth(target: LoadTarget): Promise<number> {
  const { Attributes } = await target.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: target.deadLetterQueueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

async function sentLogLength(telegramApiBase: string): Promise<number> {
  const response = await fetch(`${telegramApiBase}/_fake/sent?offset=${Number.MAX_SAFE_INTEGER}`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${telegramApiBase} is not the fake Telegram API (/_fake/sent answered ${response.status})`);
  return ((await response.json()) as { next: number }).next;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The figures as the `load` and `chaos` commands print them. */
export function formatFigures(figures: LoadFigures, options: LoadOptions): string {
  const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : "n/a");
  const rejected = Object.entries(figures.rejected)
    .map(([status, count]) => `${status}×${count}`)
    .join(", ");
  const lines = [
    `offered            ${figures.offered} webhooks in ${figures.loadSeconds.toFixed(1)} s (${options.rate}/s target, ${options.conversations} conversations)`,
    `accepted           ${figures.accepted}${rejected ? `   rejected: ${rejected}` : ""}`,
    `edge latency       p50 ${ms(figures.edgeP50Ms)}   p99 ${ms(figures.edgeP99Ms)}`,
    `webhook → reply    p50 ${ms(figures.e2eP50Ms)}   p99 ${ms(figures.e2eP99Ms)}`,
    `turns per second   ${figures.turnsPerSecond.toFixed(1)} (${figures.answered} answered; drained in ${figures.drainSeconds.toFixed(1)} s)`,
    `lost               ${figures.lost}   (accepted, never answered)`,
    `duplicate replies  ${figures.duplicates}${figures.duplicates ? `   (sent at t=${figures.duplicatesAt.map((at) => `${at.toFixed(1)}s`).join(", ")})` : ""}`,
    `out of order       ${figures.outOfOrder}   (replies within a conversation not in sending order)`,
    `dead-lettered      ${figures.deadLettered}   (in the dead-letter queue at the end)`,
    `queue depth /s     ${figures.queueDepth.map((depth) => (Number.isFinite(depth) ? String(depth) : "?")).join(" ")}`,
  ];
  return lines.join("\n");
}
