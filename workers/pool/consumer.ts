import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { Consumer } from "sqs-consumer";
import { whileBusy } from "../../core/batch";
import { describeError, type Logger } from "../../core/observability/log";
import { timedStage } from "../../core/observability/metrics";
import { inboundMessage, type InboundMessage } from "../../core/queue/inbound-message";
import { DependencyGate, sleep, type BackoffPolicy, type DependencyChecks } from "./backoff";
import { moveToDeadLetter, type DeadLetterTarget } from "./dead-letter";
import { failureCode, isTransientFailure } from "./failures";
import { processInboundMessage, type TurnDependencies } from "./handlers";
import { Slots } from "./slots";

export interface ConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Messages asked for per receive (SQS allows 1 to 10). */
  batchSize: number;
  /** Turns running at once in this process, across batches. */
  concurrency: number;
  /** Seconds a received message stays invisible; extended every third of it while it is held. */
  visibilityTimeout: number;
  waitTimeSeconds: number;
  /** From the queue's redrive policy: on the last allowed receive the pool moves a failing message itself. */
  deadLetter: DeadLetterTarget | undefined;
  /** Dependencies that must answer before receiving again after a transient failure. */
  checks: DependencyChecks;
  backoff: BackoffPolicy;
  /** Attempts of one message in this process for transient failures before it goes back to the queue. Default 8. */
  maxLocalAttempts?: number;
  deps: TurnDependencies;
  logger: Logger;
  /** Queue metrics (workers/pool/metrics.ts); turn metrics go through `deps.metrics`. */
  metrics?: { observeQueueLag(seconds: number): void; deadLettered(code: string): void };
}

export interface InboundConsumer {
  start(): void;
  /**
   * Graceful stop: no more receives; messages not started yet go back to the queue at once; turns
   * running get until `deadlineMs` to finish, then their messages go back too (visibility 0).
   */
  stop(deadlineMs: number): Promise<{ finished: number; released: number }>;
  readonly draining: boolean;
  /** Messages received and not yet deleted, released or dead-lettered. */
  held(): number;
}

interface Held {
  message: Message;
  group: string;
  receiveCount: number;
  /** `sending`: the turn passed its point of no return; shutdown waits for it instead of releasing it. */
  state: "waiting" | "running" | "sending";
  settled: boolean;
}

type Outcome = "done" | "failed" | "dead-lettered" | "released";

/** How long shutdown waits, past its deadline, for turns already sending their reply. */
const SENDING_GRACE_MS = 15_000;

/**
 * The inbound consumer (one cohesive thing: the lifecycle of a held message, from receive to
 * delete, retry or dead letter, with its heartbeat, lanes and shutdown; kept in one file so the
 * state machine reads in one place). `sqs-consumer` runs the long-polling loop; this module decides what
 * happens to each message:
 * - Conversations run in parallel, up to `concurrency` turns in the process across batches; the
 *   messages of one conversation (FIFO message group) run one after another in receive order, and
 *   a failure sends the rest of its group back behind it, so nothing overtakes.
 * - Every held message is kept invisible by a heartbeat (ChangeMessageVisibility every third of the
 *   timeout), so a long turn is never picked up by a second worker.
 * - A message is deleted as soon as its turn succeeds (not at the end of its batch), which also
 *   unlocks its FIFO group for the next message.
 * - A transient failure (database, provider, channel down) closes the {@link DependencyGate}: no
 *   receives, and the message is retried here, still invisible, once the dependencies answer again,
 *   so an outage does not use up its receives. Other failures go back to the queue with a delay
 *   that grows per receive; on the last allowed receive the message is moved to the dead-letter
 *   queue with the error attached.
 */
export function createInboundConsumer(options: ConsumerOptions): InboundConsumer {
  const { sqs, queueUrl, logger } = options;
  const maxLocalAttempts = options.maxLocalAttempts ?? 8;
  const stopping = new AbortController();
  let pastDeadline = false;
  const held = new Set<Held>();
  const lanes = new Map<string, Held[]>();
  const runningLanes = new Set<Promise<void>>();
  const gate = new DependencyGate({ checks: options.checks, backoff: options.backoff, logger, signal: stopping.signal });
  const slots = new Slots(options.concurrency, stopping.signal);
  let capacityWaiters: Array<() => void> = [];
  let finished = 0;
  const deleteMessage = coalescedDeletes(sqs, queueUrl);

  const notifyCapacity = () => {
    const waiters = capacityWaiters;
    capacityWaiters = [];
    for (const wake of waiters) wake();
  };
  const waitForCapacity = async () => {
    while (held.size >= options.concurrency && !stopping.signal.aborted) {
      await new Promise<void>((resolve) => capacityWaiters.push(resolve));
    }
  };

  const settle = async (entry: Held, action: "delete" | "release" | "retry-later" | "dead-letter", error?: unknown) => {
    if (entry.settled) return;
    entry.settled = true;
    held.delete(entry);
    notifyCapacity();
    const fields = { sqsMessageId: entry.message.MessageId, receiveCount: entry.receiveCount };
    try {
      if (action === "delete") {
        await timedStage(options.deps.metrics, "delete", () => deleteMessage(entry.message.ReceiptHandle!));
        finished++;
      } else if (action === "dead-letter" && options.deadLetter) {
        await moveToDeadLetter(sqs, options.deadLetter, { queueUrl, message: entry.message, receiveCount: entry.receiveCount, error });
        options.metrics?.deadLettered(failureCode(error));
        logger.log("warn", "consumer.dead_lettered", { ...fields, code: failureCode(error) });
      } else {
        // Retry later: 1, 2, 4... seconds by receive count, at most the visibility timeout.
        const seconds = action === "release" ? 0 : Math.min(options.visibilityTimeout, 2 ** Math.max(0, entry.receiveCount - 1));
        await changeVisibility(entry, seconds);
      }
    } catch (settleError) {
      // The message reappears after its visibility timeout; the turn is idempotent.
      logger.log("warn", "consumer.settle_failed", { ...fields, action, ...describeError(settleError) });
    }
  };

  const changeVisibility = (entry: Held, seconds: number) =>
    sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: entry.message.ReceiptHandle, VisibilityTimeout: seconds }),
    );

  /** Back to the queue now; last first, so an emulator that re-queues at the front keeps the order. */
  const releaseAll = async (entries: Held[]) => {
    for (const entry of [...entries].reverse()) await settle(entry, "release");
  };

  const runMessage = async (entry: Held): Promise<Outcome> => {
    const fields = { sqsMessageId: entry.message.MessageId, receiveCount: entry.receiveCount };
    for (let attempt = 1; ; attempt++) {
      await gate.pass();
      if (stopping.signal.aborted || entry.settled) return "released";
      const startedAt = performance.now();
      let channel = "other";
      const ran = await slots.run(async (): Promise<{ error: unknown } | "ok" | "released"> => {
        if (stopping.signal.aborted || entry.settled) return "released";
        entry.state = "running";
        try {
          const message = parseBody(entry.message);
          channel = "channelKind" in message ? message.channelKind : message.kind === "billing.event" ? "billing" : "integration";
          const outcome = await processInboundMessage(options.deps, message, {
            receiveCount: entry.receiveCount,
            maxReceives: options.deadLetter?.maxReceiveCount,
            // Synchronous check-and-set: shutdown either sees `sending` (and waits) or the turn
            // sees the deadline passed (and sends nothing).
            enterSending: () => {
              if (pastDeadline || entry.settled) return false;
              entry.state = "sending";
              return true;
            },
          });
          logger.log("info", "consumer.processed", {
            ...fields,
            outcome,
            ...("tenantId" in message ? { tenantId: message.tenantId } : {}),
          });
          options.deps.metrics?.turnFinished({ channel, outcome, seconds: (performance.now() - startedAt) / 1000 });
          return "ok";
        } catch (error) {
          return { error };
        }
      });
      if (ran === "released") return "released";
      const failure = ran === "ok" ? undefined : ran;
      if (!failure) {
        gate.recordSuccess();
        await settle(entry, "delete");
        return "done";
      }
      const transient = isTransientFailure(failure.error);
      const failedAs = transient ? "transient_error" : failureCode(failure.error) === "ALL_MODELS_FAILED" ? "all_models_failed" : "error";
      options.deps.metrics?.turnFinished({ channel, outcome: failedAs, seconds: (performance.now() - startedAt) / 1000 });
      logger.log("error", "consumer.message_failed", { ...fields, attempt, transient, ...describeError(failure.error) });
      if (stopping.signal.aborted) {
        await settle(entry, "release");
        return "released";
      }
      if (transient && attempt < maxLocalAttempts) {
        gate.recordFailure(failureCode(failure.error));
        entry.state = "waiting";
        continue;
      }
      // Every model provider failing is retried through the queue (the turn apologises on the last
      // receive), but new work waits too: no stream of doomed model calls while providers are down.
      if (failureCode(failure.error) === "ALL_MODELS_FAILED") gate.recordFailure("ALL_MODELS_FAILED");
      if (options.deadLetter && entry.receiveCount >= options.deadLetter.maxReceiveCount) {
        await settle(entry, "dead-letter", failure.error);
        return "dead-lettered";
      }
      await settle(entry, "retry-later");
      return "failed";
    }
  };

  const runLane = async (group: string) => {
    const lane = lanes.get(group)!;
    try {
      while (lane.length > 0 && !stopping.signal.aborted) {
        const outcome = await runMessage(lane[0]!);
        lane.shift();
        if (outcome !== "done") {
          // Later messages of the conversation must not overtake this one.
          await releaseAll(lane.splice(0));
        }
      }
    } finally {
      lanes.delete(group);
    }
  };

  const dispatch = (batch: Message[]) => {
    const receivedAt = Date.now();
    const sent = batch.map((message) => Number(message.Attributes?.SentTimestamp)).filter((at) => Number.isFinite(at) && at > 0);
    if (sent.length > 0) options.metrics?.observeQueueLag((receivedAt - Math.min(...sent)) / 1000);
    // Each message's time in the queue (the queue's clock against ours: millisecond resolution, roughly).
    for (const at of sent) options.deps.metrics?.stage("queue", Math.max(0, receivedAt - at) / 1000);
    for (const message of inProviderOrder(batch)) {
      const entry: Held = {
        message,
        group: message.Attributes?.MessageGroupId ?? message.MessageId ?? "",
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? "1"),
        state: "waiting",
        settled: false,
      };
      held.add(entry);
      const lane = lanes.get(entry.group);
      if (lane) {
        lane.push(entry);
        continue;
      }
      lanes.set(entry.group, [entry]);
      const run = runLane(entry.group).finally(() => runningLanes.delete(run));
      runningLanes.add(run);
    }
  };

  const poller = Consumer.create({
    sqs,
    queueUrl,
    batchSize: options.batchSize,
    waitTimeSeconds: options.waitTimeSeconds,
    visibilityTimeout: options.visibilityTimeout,
    messageSystemAttributeNames: ["MessageGroupId", "ApproximateReceiveCount", "SentTimestamp"],
    suppressFifoWarning: true,
    // Deletes happen per message as turns succeed, not per batch.
    shouldDeleteMessages: false,
    preReceiveMessageCallback: async () => {
      await waitForCapacity();
      await gate.pass();
    },
    handleMessageBatch: async (batch) => {
      // Hand the batch over and poll again: capacity, not the slowest turn of a batch, paces receiving.
      if (stopping.signal.aborted) await releaseAll(batch.map((message) => toHeld(message)));
      else dispatch(batch);
      return [];
    },
  });
  poller.on("error", (error) => {
    if (stopping.signal.aborted) return;
    logger.log("error", "consumer.receive_failed", describeError(error));
    gate.recordFailure("queue");
  });
  poller.on("empty", () => {
    options.metrics?.observeQueueLag(0);
    if (gate.open) gate.recordSuccess();
  });

  const heartbeatMs = Math.max(1, Math.floor(options.visibilityTimeout / 3)) * 1000;
  let heartbeat: NodeJS.Timeout | undefined;
  const extendVisibility = async () => {
    const entries = [...held].filter((entry) => !entry.settled);
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      await sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((entry, index) => ({
              Id: String(index),
              ReceiptHandle: entry.message.ReceiptHandle,
              VisibilityTimeout: options.visibilityTimeout,
            })),
          }),
        )
        .catch((error) => logger.log("warn", "consumer.heartbeat_failed", describeError(error)));
    }
  };

  return {
    start() {
      heartbeat = setInterval(() => void extendVisibility(), heartbeatMs);
      poller.start();
    },
    async stop(deadlineMs) {
      const before = finished;
      stopping.abort();
      notifyCapacity();
      poller.stop({ abort: true });
      // Not started yet: back to the queue now, for another pool to take.
      const waiting = [...held].filter((entry) => entry.state === "waiting");
      await releaseAll(waiting);
      let released = waiting.length;
      await Promise.race([Promise.allSettled([...runningLanes]), sleep(deadlineMs)]);
      pastDeadline = true;
      // Turns that already handed their reply to the channel finish (they only record it now);
      // releasing them could make another pool wait on an unconfirmed reply.
      const sending = () => [...held].filter((entry) => !entry.settled && entry.state === "sending");
      const notSending = [...held].filter((entry) => !entry.settled && entry.state !== "sending");
      await releaseAll(notSending);
      released += notSending.length;
      const deadline = Date.now() + SENDING_GRACE_MS;
      while (sending().length > 0 && Date.now() < deadline) await sleep(50);
      const unfinished = [...held].filter((entry) => !entry.settled);
      await releaseAll(unfinished);
      released += unfinished.length;
      clearInterval(heartbeat);
      return { finished: finished - before, released };
    },
    get draining() {
      return stopping.signal.aborted;
    },
    held: () => held.size,
  };
}

/**
 * The batch with each conversation's messages in the provider's order (`sequence`, e.g. Telegram's
 * `update_id`) instead of the queue's: two webhook deliveries that overtook each other on the way
 * to the queue are answered in the order the person wrote them. Conversations keep their places;
 * a conversation with a message that has no sequence keeps the queue's order. Amazon SQS returns
 * several messages of one group in a receive; the local emulator (fauxqs) returns one per group,
 * so there each receive holds at most one message of a conversation and this changes nothing.
 */
export function inProviderOrder(batch: Message[]): Message[] {
  const ordered: Message[] = [];
  for (const messages of byGroup(batch).values()) {
    // Bodies are read here only for a conversation with several messages in the batch (the turn parses them anyway).
    const sequences = messages.length > 1 ? messages.map(sequenceOf) : [];
    if (sequences.length > 1 && sequences.every((sequence) => sequence !== undefined)) {
      const keyed = messages.map((message, i) => ({ message, sequence: sequences[i]! }));
      keyed.sort((a, b) => a.sequence - b.sequence);
      ordered.push(...keyed.map((entry) => entry.message));
    } else {
      ordered.push(...messages);
    }
  }
  return ordered;
}

/** The batch's messages by FIFO group (a message without one is a group of its own), each in the batch's order. */
export function byGroup(batch: Message[]): Map<string, Message[]> {
  const groups = new Map<string, Message[]>();
  for (const message of batch) {
    const group = message.Attributes?.MessageGroupId ?? message.MessageId ?? "";
    groups.set(group, [...(groups.get(group) ?? []), message]);
  }
  return groups;
}

function sequenceOf(message: Message): number | undefined {
  try {
    const sequence = (JSON.parse(message.Body ?? "") as { sequence?: unknown }).sequence;
    return typeof sequence === "number" && Number.isFinite(sequence) ? sequence : undefined;
  } catch {
    return undefined;
  }
}

function toHeld(message: Message): Held {
  return { message, group: message.Attributes?.MessageGroupId ?? "", receiveCount: 1, state: "waiting", settled: false };
}

function parseBody(message: Message): InboundMessage {
  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? "");
  } catch {
    throw Object.assign(new Error("queue message is not JSON"), { code: "INVALID_QUEUE_MESSAGE" });
  }
  const parsed = inboundMessage.safeParse(body);
  if (!parsed.success) throw Object.assign(new Error("queue message does not match the contract"), { code: "INVALID_QUEUE_MESSAGE" });
  return parsed.data;
}

/**
 * Deletes by receipt handle, coalesced (`whileBusy`): one `DeleteMessageBatch` call at a time, and
 * the deletes asked for while it runs go together in the next (up to 10 a call), so a busy pool
 * makes about one call per ten turns instead of one per turn. sqs-consumer batches deletes only for
 * the messages of one batch handler, and this pool deletes each message as its own turn finishes.
 * A refused entry rejects its own promise only (the message comes back after its visibility
 * timeout; turns are idempotent).
 */
export function coalescedDeletes(sqs: SQSClient, queueUrl: string): (receiptHandle: string) => Promise<void> {
  return whileBusy<string>(
    async (handles) => {
      const result = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: handles.map((receiptHandle, index) => ({ Id: String(index), ReceiptHandle: receiptHandle })),
        }),
      );
      const failed = new Map((result.Failed ?? []).map((failure) => [failure.Id, failure]));
      return handles.map((_, index) => {
        const failure = failed.get(String(index));
        return failure ? new Error(`DeleteMessageBatch refused the entry: ${failure.Code ?? "unknown"}`) : undefined;
      });
    },
    { max: 10 },
  );
}
