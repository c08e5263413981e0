import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChannelAddress } from "../../core/channels/address";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { PROJECT_ROOT, startLocalStack, type LocalStack, type PoolProcess } from "../../scripts/local-stack";
import { sqsClientFor } from "../../scripts/stack/sqs";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startSqsFaultProxy } from "../support/sqs-fault-proxy";
import { textUpdate } from "../support/telegram";

/**
 * The pool under pressure and faults, on real local parts: the edge under workerd, the SQS
 * emulator, pool processes, PGlite or PostgreSQL, Chroma and the fake Telegram API. Faults are
 * injected (a slow or stalled channel, a stopped database, a failing channel), never timed.
 */
describe("pool resilience", () => {
  let database: TestDatabase | undefined;
  let stack: LocalStack;
  let sqs: SQSClient;
  let secret: string;
  let nextChat = 880_000;

  beforeAll(async () => {
    // On PostgreSQL a test database of our own (its outage refuses connections to it alone); on
    // PGlite the stack's own server, which stopDatabase really stops and starts again.
    database = process.env.DATABASE_URL ? await createTestDatabase() : undefined;
    stack = await startLocalStack({
      ...(database ? { database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind } } : {}),
      withPool: false,
      output: "quiet",
      poolEnv: {
        POOL_VISIBILITY_TIMEOUT: "2",
        POOL_WAIT_TIME_SECONDS: "1",
        POOL_BACKOFF_BASE_MS: "200",
        POOL_BACKOFF_MAX_MS: "1000",
        LOG_LEVEL: "info",
      },
    });
    sqs = sqsClientFor(stack.sqs);
    secret = await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, parseChannelAddress(stack.demo!.address)!);
  });

  afterAll(async () => {
    sqs?.destroy();
    await stack?.stop();
    await database?.close();
  });

  const post = (text: string, chatId: number) =>
    fetch(`${stack.edge.url}/webhooks/telegram/${stack.demo!.address}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(textUpdate(text, { chatId })),
    });

  const depth = async (queueUrl = stack.sqs.inboundQueueUrl) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return {
      visible: Number(Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  };

  const sendCalls = (chatId: number) =>
    stack.telegram!.calls.filter((call) => call.method === "sendMessage" && String(call.params.chat_id) === String(chatId));

  const repliesIn = (chatId: number) => stack.telegram!.sent(chatId).map((message) => message.text);

  const logEvents = (pool: PoolProcess, event: string) =>
    pool
      .recentOutput()
      .split("\n")
      .filter((line) => line.includes(`"event":"${event}"`));

  it("reports readiness of the database, the queue and Chroma on /readyz, and liveness on /healthz", async () => {
    const pool = await stack.startPool();
    try {
      const ready = await fetch(`${pool.healthUrl}/readyz`);
      expect(await ready.json()).toEqual({ status: "ready", checks: { database: "ok", queue: "ok", chroma: "ok", consumer: "ok" } });
      expect((await fetch(`${pool.healthUrl}/healthz`)).status).toBe(200);
    } finally {
      await pool.stop();
    }
  });

  it("runs conversations in parallel up to POOL_CONCURRENCY and keeps each conversation in order", async () => {
    const pool = await stack.startPool({ POOL_CONCURRENCY: "3" });
    const telegram = stack.telegram!;
    const [a, b, c, d] = [nextChat++, nextChat++, nextChat++, nextChat++];
    telegram.pauseSends();
    try {
      for (const [text, chat] of [
        ["a-1", a],
        ["a-2", a],
        ["a-3", a],
        ["b-1", b],
        ["c-1", c],
        ["d-1", d],
      ] as const) {
        expect((await post(text, chat)).status).toBe(200);
      }
      // Three turns reach the channel at once and wait there: three different conversations.
      await waitFor(() => telegram.sendsInFlight().length === 3);
      expect(new Set(telegram.sendsInFlight()).size).toBe(3);
      telegram.resumeSends();
      await Promise.all([telegram.waitForSent(a, 3), telegram.waitForSent(b, 1), telegram.waitForSent(c, 1), telegram.waitForSent(d, 1)]);
      expect(telegram.maxConcurrentSends()).toEqual({ overall: 3, perChat: 1 });
      const order = repliesIn(a).map((text) => /a-(\d)/.exec(text)?.[1]);
      expect(order).toEqual(["1", "2", "3"]);
    } finally {
      telegram.resumeSends();
      await pool.stop();
    }
  });

  it("keeps a long turn's message invisible, so a second pool never picks it up", async () => {
    const telegram = stack.telegram!;
    const first = await stack.startPool();
    const second = await stack.startPool();
    const chat = nextChat++;
    // The channel takes 5 s per send: more than twice the 2 s visibility timeout.
    telegram.delaySends(5_000);
    try {
      expect((await post("slow channel", chat)).status).toBe(200);
      await telegram.waitForSent(chat, 1, 30_000);
      await waitFor(async () => (await depth()).inFlight + (await depth()).visible === 0);
      expect(sendCalls(chat)).toHaveLength(1);
      expect(repliesIn(chat)).toHaveLength(1);
    } finally {
      telegram.delaySends(0);
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it("on SIGTERM finishes the turn in flight, puts back what had not started, and exits 0", async () => {
    const telegram = stack.telegram!;
    const pool = await stack.startPool({ POOL_CONCURRENCY: "1", POOL_SHUTDOWN_TIMEOUT_SECONDS: "20" });
    const [f, g] = [nextChat++, nextChat++];
    telegram.delaySends(1_500);
    try {
      for (const [text, chat] of [
        ["f-1", f],
        ["f-2", f],
        ["g-1", g],
      ] as const)
        expect((await post(text, chat)).status).toBe(200);
      await waitFor(() => telegram.sendsInFlight().length === 1);
      const stopped = pool.stop(30_000);
      const exit = await pool.exited;
      await stopped;
      expect(exit).toEqual({ code: 0, signal: null });
      // The turn that was sending finished and its message was deleted; the other two wait, visible now.
      expect(telegram.sent(f).length + telegram.sent(g).length).toBe(1);
      expect(await depth()).toEqual({ visible: 2, inFlight: 0 });
      expect(logEvents(pool, "pool.drained")[0]).toContain('"finished":1');
    } finally {
      telegram.delaySends(0);
      await pool.stop();
    }
    const next = await stack.startPool();
    try {
      await Promise.all([telegram.waitForSent(f, 2), telegram.waitForSent(g, 1)]);
      await waitFor(async () => (await depth()).visible + (await depth()).inFlight === 0);
      expect(repliesIn(f).map((text) => /f-(\d)/.exec(text)?.[1])).toEqual(["1", "2"]);
      expect(repliesIn(g)).toHaveLength(1);
    } finally {
      await next.stop();
    }
  });

  it("on SIGTERM puts a turn that outlives the deadline back on the queue, and another pool answers it once", async () => {
    const telegram = stack.telegram!;
    const pool = await stack.startPool({ POOL_SHUTDOWN_TIMEOUT_SECONDS: "1" });
    const chat = nextChat++;
    telegram.pauseSends();
    try {
      expect((await post("stuck in the channel", chat)).status).toBe(200);
      await waitFor(() => telegram.sendsInFlight().includes(String(chat)));
      await pool.stop(30_000);
      expect(await pool.exited).toEqual({ code: 0, signal: null });
      // Released at the deadline: visible at once, not after a visibility timeout.
      expect(await depth()).toEqual({ visible: 1, inFlight: 0 });
    } finally {
      // The stalled send's connection died with its pool: the channel never delivered it.
      telegram.resumeSends();
    }
    const next = await stack.startPool();
    try {
      await telegram.waitForSent(chat, 1);
      await waitFor(async () => (await depth()).visible + (await depth()).inFlight === 0);
      expect(repliesIn(chat)).toHaveLength(1);
    } finally {
      await next.stop();
    }
  });

  it("with the database down: the edge still accepts, the pool stops receiving and backs off, then recovers by itself", async () => {
    const proxy = await startSqsFaultProxy(
      stack.sqs.endpoint,
      () => false,
      () => undefined,
    );
    const pool = await stack.startPool({ SQS_ENDPOINT: proxy.url });
    const chat = nextChat++;
    // The inbound queue's receives only: the knowledge jobs consumer polls its own queue through the same proxy.
    const receives = () =>
      proxy.calls.filter((call) => call.action.endsWith("ReceiveMessage") && call.queueUrl === stack.sqs.inboundQueueUrl).length;
    try {
      await stack.stopDatabase();
      expect((await post("while the database is down", chat)).status).toBe(200);

      // The turn fails on the database; the pool probes with growing pauses instead of receiving.
      await waitFor(() => logEvents(pool, "consumer.dependency_unavailable").length >= 2, 30_000);
      const receivesWhilePaused = receives();
      const rounds = logEvents(pool, "consumer.paused").length;
      await waitFor(() => logEvents(pool, "consumer.paused").length >= rounds + 2, 30_000);
      expect(receives()).toBe(receivesWhilePaused);
      const ready = await fetch(`${pool.healthUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "not_ready", checks: { database: "unavailable", queue: "ok" } });

      await stack.startDatabase();
      await stack.telegram!.waitForSent(chat, 1, 30_000);
      await waitFor(async () => (await depth()).visible + (await depth()).inFlight === 0);
      expect(repliesIn(chat)).toHaveLength(1);
      // Retried in the pool while the database was away: its one receive was not used up.
      const processed = logEvents(pool, "consumer.processed").filter((line) => line.includes(`"sqsMessageId"`));
      expect(processed.at(-1)).toContain('"receiveCount":1');
      expect(logEvents(pool, "consumer.recovered").length).toBeGreaterThan(0);
    } finally {
      await stack.startDatabase();
      await pool.stop();
      await proxy.close();
    }
  });

  it("dead-letters a failing message on its last receive with the error attached; `npm run dlq` lists, inspects and replays it", async () => {
    const chat = nextChat++;
    const admin = new pg.Client({ connectionString: database?.adminUrl ?? stack.database.adminUrl });
    await admin.connect();
    const [{ credentials }] = (await admin.query("select credentials from channels where id = $1", [stack.demo!.channelId])).rows;
    const pool = await stack.startPool();
    try {
      // A channel without credentials cannot send: a failure no retry can fix until someone does.
      await admin.query("update channels set credentials = null where id = $1", [stack.demo!.channelId]);
      expect((await post("poison until fixed", chat)).status).toBe(200);
      await waitFor(async () => (await depth(stack.sqs.deadLetterQueueUrl)).visible === 1, 40_000);
      expect(await depth()).toEqual({ visible: 0, inFlight: 0 });

      const [letter] = JSON.parse(await dlq("list", "--json")) as Array<{
        id: string;
        error: string;
        receives: number;
        conversation: string;
      }>;
      expect(letter).toMatchObject({ conversation: String(chat), receives: 5 });
      expect(letter!.error).toMatch(/^UNPROCESSABLE_MESSAGE: the channel has no credentials/);
      const detail = JSON.parse(await dlq("inspect", letter!.id)) as { failure: { code: string }; body: { text: string } };
      expect(detail.failure.code).toBe("UNPROCESSABLE_MESSAGE");
      expect(detail.body.text).toBe("poison until fixed");
      // Listing and inspecting leave the message where it was.
      expect((await depth(stack.sqs.deadLetterQueueUrl)).visible).toBe(1);

      await admin.query("update channels set credentials = $1 where id = $2", [credentials, stack.demo!.channelId]);
      expect(JSON.parse(await dlq("replay", letter!.id, "--json"))).toEqual({ replayed: [letter!.id] });
      await stack.telegram!.waitForSent(chat, 1);
      await waitFor(async () => (await depth()).visible + (await depth()).inFlight === 0);
      expect(repliesIn(chat)).toHaveLength(1);
      expect(JSON.parse(await dlq("list", "--json"))).toEqual([]);
    } finally {
      await admin.query("update channels set credentials = $1 where id = $2", [credentials, stack.demo!.channelId]);
      await admin.end();
      await pool.stop();
    }
  });

  /** Runs `npm run dlq` against the test's emulator with explicit flags, as against a real SQS. */
  async function dlq(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        join(PROJECT_ROOT, "scripts/dlq.ts"),
        ...args,
        "--queue-url",
        stack.sqs.inboundQueueUrl,
        "--dlq-url",
        stack.sqs.deadLetterQueueUrl,
        "--endpoint",
        stack.sqs.endpoint,
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, SQS_ACCESS_KEY_ID: "test", SQS_SECRET_ACCESS_KEY: "test" } },
    );
    return stdout;
  }
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("condition not met in time");
}
