import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { telegramWebhookSecret } from "../../core/channels/telegram/webhook-secret";
import { OFFLINE_LABEL } from "../../core/engine/offline-model";
import { parseChannelAddress } from "../../core/channels/address";
import { createPoolDb, type DbHandle } from "../../db/client";
import { messages, usageRecords } from "../../db/schema";
import { killProcessTree } from "../../scripts/stack/child";
import { sqsClientFor } from "../../scripts/stack/sqs";
import { PROJECT_ROOT, startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { buildPool, missingProductionDependencies } from "../../scripts/build";
import { readHistograms } from "../../scripts/bench/histograms";
import { TURN_STAGES } from "../../core/observability/metrics";
import { startFakeOpenAI } from "../fakes/openai";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { startSqsFaultProxy } from "../support/sqs-fault-proxy";
import { textUpdate } from "../support/telegram";
import type pg from "pg";

/**
 * The whole path on real local parts: an update posted to the edge under workerd, through the SQS
 * emulator, to a pool process, which runs the agent and replies through the fake Telegram API.
 */
describe("Telegram message path (edge → SQS → pool → agent → reply)", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let admin: DbHandle<pg.Pool>;
  let sqs: SQSClient;
  let webhookUrl: string;
  let secret: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startLocalStack({
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      withPool: false,
      output: "quiet",
      // Short timings so a redelivery happens within the test.
      poolEnv: { POOL_VISIBILITY_TIMEOUT: "2", POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
    });
    admin = createPoolDb(database.adminUrl, { max: 2 });
    sqs = sqsClientFor(stack.sqs);
    webhookUrl = `${stack.edge.url}/webhooks/telegram/${stack.demo!.address}`;
    secret = await telegramWebhookSecret(stack.keys.WEBHOOK_SIGNING_KEY, parseChannelAddress(stack.demo!.address)!);
  });

  afterAll(async () => {
    sqs?.destroy();
    await admin?.close();
    await stack?.stop();
    await database?.close();
  });

  const post = (body: unknown, headers: Record<string, string> = { "x-telegram-bot-api-secret-token": secret }) =>
    fetch(webhookUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  const queueDepth = async () => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.sqs.inboundQueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
  };

  const repliesTo = async (chatId: number) =>
    admin.db
      .select()
      .from(messages)
      .where(and(eq(messages.direction, "outbound"), eq(messages.channelId, stack.demo!.channelId)))
      .then((rows) => rows.filter((row) => stack.telegram!.sent(chatId).some((sent) => String(sent.message_id) === row.providerMessageId)));

  it("reports the edge ready: the database through the Neon driver in workerd, and the queue", async () => {
    const response = await fetch(`${stack.edge.url}/readyz`);
    expect(await response.json()).toEqual({ status: "ready", checks: { queue: "ok", database: "ok" } });
    expect(response.status).toBe(200);
  });

  it("rejects a wrong secret with 401 and enqueues nothing", async () => {
    const response = await post(textUpdate("sneaky", { chatId: 9001 }), { "x-telegram-bot-api-secret-token": "nope" });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });
    const missing = await post(textUpdate("sneaky", { chatId: 9001 }), {});
    expect(missing.status).toBe(401);
    expect(await queueDepth()).toBe(0);
  });

  it("queues and answers messages with emoji, flags, ZWJ sequences, U+FFFE/U+FFFF and lone surrogates, text intact", async () => {
    const pool = await stack.startPool();
    try {
      const texts = ["Hi 👋🏽 there", "Flags 🇩🇪🇯🇵 ok?", "Family 👨‍👩‍👧‍👦 and 🏳️‍🌈", "odd \ufffe\uffff chars", "half \ud83d alone"];
      for (const [i, text] of texts.entries()) {
        const response = await post(textUpdate(text, { chatId: 1100 + i }));
        expect(response.status, text).toBe(200);
      }
      for (const [i, text] of texts.entries()) {
        const [reply] = await stack.telegram!.waitForSent(1100 + i, 1);
        // The offline model repeats what it was given: the text crossed queue, pool and database
        // unchanged (a lone surrogate becomes U+FFFD, as UTF-8 storage must make it).
        const expected = text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
        expect(reply!.text, text).toContain(expected);
      }
      const stored = await admin.db.select({ content: messages.content }).from(messages).where(eq(messages.direction, "inbound"));
      for (const text of texts.slice(0, 4)) expect(stored.map((row) => row.content)).toContain(text);
    } finally {
      await pool.stop();
    }
  });

  it("answers a message end to end and records it", async () => {
    const pool = await stack.startPool({ LOG_LEVEL: "info" });
    try {
      const chatId = 1001;
      const response = await post(textUpdate("Hello, who are you?", { chatId }));
      expect(response.status).toBe(200);
      const requestId = response.headers.get("x-request-id");
      expect(requestId).toBeTruthy();
      const [reply] = await stack.telegram!.waitForSent(chatId, 1);
      expect(reply!.text).toContain(OFFLINE_LABEL);
      expect(reply!.text).toContain("Hello, who are you?");

      // The fake has answered sendMessage; the pool marks the reply sent right after (not before the fake answers).
      await waitFor(async () => (await repliesTo(chatId))[0]?.status === "sent");
      const recorded = await repliesTo(chatId);
      expect(recorded[0]!.status).toBe("sent");
      // The pool's lines carry the edge's request id and the conversation, so the two logs join.
      const sentLineOf = () =>
        pool
          .recentOutput()
          .split("\n")
          .find((line) => line.includes('"turn.reply_sent"'));
      await waitFor(async () => sentLineOf() !== undefined);
      const sentLine = sentLineOf();
      expect(sentLine).toContain(`"requestId":"${requestId}"`);
      expect(sentLine).toContain(`"conversationId":"${recorded[0]!.conversationId}"`);
      const usage = await admin.db.select().from(usageRecords).where(eq(usageRecords.messageId, recorded[0]!.id));
      expect(usage).toHaveLength(1);
      expect(usage[0]!.provider).toBe("offline");

      // A second message in the same chat sees the first in its history.
      await post(textUpdate("And again", { chatId }));
      const [, second] = await stack.telegram!.waitForSent(chatId, 2);
      expect(second!.text).toContain("1 earlier message");

      // Every stage of both turns is timed (what `npm run bench:turns` reads back).
      const stageCounts = async () => {
        const stages = readHistograms(await (await fetch(`${pool.healthUrl}/metrics`)).text(), "agent_turn_stage_seconds", "stage");
        return Object.fromEntries(TURN_STAGES.map((stage) => [stage, stages.get(stage)?.count ?? 0]));
      };
      await waitFor(async () => (await stageCounts()).delete === 2);
      expect(await stageCounts()).toEqual({ queue: 2, context: 2, decide: 2, record: 2, send: 2, delete: 2 });
    } finally {
      await pool.stop();
    }
  });

  it("answers from the production build (npm run build: dist/pool.js under plain node), whose imports are all production dependencies", async () => {
    // Under the project, so the bundle's external packages resolve from its node_modules as in the image.
    const cache = join(PROJECT_ROOT, "node_modules", ".cache");
    await mkdir(cache, { recursive: true });
    const outdir = await mkdtemp(join(cache, "pool-build-"));
    try {
      const build = await buildPool(outdir);
      expect(build.packages).toContain("pg");
      expect(await missingProductionDependencies(build.packages)).toEqual([]);
      const pool = await stack.startPool({}, { entry: join(outdir, "pool.js") });
      try {
        const chatId = 1010;
        await post(textUpdate("Hello from the build", { chatId }));
        const [reply] = await stack.telegram!.waitForSent(chatId, 1);
        expect(reply!.text).toContain("Hello from the build");
        expect(await (await fetch(`${pool.healthUrl}/readyz`)).json()).toMatchObject({ status: "ready" });
      } finally {
        await pool.stop();
      }
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });

  it("replies once to the same update delivered twice, by the webhook and by the queue", async () => {
    const pool = await stack.startPool();
    try {
      const chatId = 1002;
      const update = textUpdate("only once please", { chatId });
      expect((await post(update)).status).toBe(200);
      expect((await post(update)).status).toBe(200);
      await stack.telegram!.waitForSent(chatId, 1);

      // Past SQS's deduplication window: the same provider message under a new deduplication id.
      const again = {
        version: 1,
        kind: "inbound.message",
        tenantId: stack.demo!.tenantId,
        channelId: stack.demo!.channelId,
        channelKind: "telegram",
        conversationKey: String(chatId),
        providerMessageId: String(update.update_id),
        text: "only once please",
        sender: { id: String(chatId) },
        sentAt: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
      };
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.sqs.inboundQueueUrl,
          MessageBody: JSON.stringify(again),
          MessageGroupId: `${stack.demo!.channelId}:${chatId}`,
          MessageDeduplicationId: `replay-${Date.now()}`,
        }),
      );
      await waitFor(async () => (await queueDepth()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stack.telegram!.sent(chatId)).toHaveLength(1);
    } finally {
      await pool.stop();
    }
  });

  it("sends one reply when the pool dies after sending and before deleting the queue message", async () => {
    let victim: number | undefined;
    const proxy = await startSqsFaultProxy(
      stack.sqs.endpoint,
      (action) => action.includes("DeleteMessage"),
      () => {
        if (victim !== undefined) killProcessTree(victim, "SIGKILL");
      },
    );
    try {
      const doomed = await stack.startPool({ SQS_ENDPOINT: proxy.url });
      victim = doomed.pid;
      const chatId = 1003;
      expect((await post(textUpdate("survive a crash", { chatId }))).status).toBe(200);
      await stack.telegram!.waitForSent(chatId, 1);
      const exit = await doomed.exited;
      expect(exit.signal).toBe("SIGKILL");
      expect(await queueDepth()).toBe(1);

      const healthy = await stack.startPool();
      try {
        await waitFor(async () => (await queueDepth()) === 0, 20_000);
        expect(stack.telegram!.sent(chatId)).toHaveLength(1);
        const inbound = await admin.db
          .select()
          .from(messages)
          .where(
            and(eq(messages.direction, "inbound"), eq(messages.channelId, stack.demo!.channelId), eq(messages.content, "survive a crash")),
          );
        expect(inbound).toHaveLength(1);
      } finally {
        await healthy.stop();
      }
    } finally {
      await proxy.close();
    }
  });

  it("answers with gpt-4o-mini through ChatOpenAI when OPENAI_API_KEY is set", async () => {
    const openai = await startFakeOpenAI({ apiKey: "sk-e2e" });
    const pool = await stack.startPool({ OPENAI_API_KEY: "sk-e2e", OPENAI_BASE_URL: openai.baseUrl });
    try {
      const response = await post(textUpdate("What are your opening hours?", { chatId: 2001 }));
      expect(response.status).toBe(200);
      const [reply] = await stack.telegram!.waitForSent(2001, 1);
      expect(reply!.text).toBe("(gpt-4o-mini) You asked: What are your opening hours?");
      expect(openai.requests[0]!.body.messages[0]).toMatchObject({ role: "system" });
      await waitFor(async () => (await admin.db.select().from(usageRecords).where(eq(usageRecords.provider, "openai"))).length === 1);
      const [usage] = await admin.db.select().from(usageRecords).where(eq(usageRecords.provider, "openai"));
      expect(usage!.model).toBe("gpt-4o-mini");
      expect(usage!.inputTokens).toBeGreaterThan(0);
    } finally {
      await pool.stop();
      await openai.close();
    }
  });

  it("moves a message that can never be processed to the dead-letter queue after 5 receives, and sends nothing", async () => {
    const pool = await stack.startPool();
    try {
      const foreign = {
        version: 1,
        kind: "inbound.message",
        // A tenant that does not own the demo channel: row-level security hides it.
        tenantId: "99999999-9999-4999-8999-999999999999",
        channelId: stack.demo!.channelId,
        channelKind: "telegram",
        conversationKey: "3001",
        providerMessageId: "1",
        text: "cross-tenant",
        sender: { id: "3001" },
        sentAt: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
      };
      for (const [i, body] of [JSON.stringify(foreign), "{not json"].entries()) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: stack.sqs.inboundQueueUrl,
            MessageBody: body,
            MessageGroupId: `poison-${i}`,
            MessageDeduplicationId: `poison-${i}`,
          }),
        );
      }
      const deadLettered: string[] = [];
      await waitFor(async () => {
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: stack.sqs.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        deadLettered.push(...(Messages ?? []).map((m) => m.Body ?? ""));
        return deadLettered.length === 2;
      }, 40_000);
      expect(deadLettered.sort()).toEqual([JSON.stringify(foreign), "{not json"].sort());
      expect(stack.telegram!.sent("3001")).toHaveLength(0);
      const stored = await admin.db.select().from(messages).where(eq(messages.content, "cross-tenant"));
      expect(stored).toHaveLength(0);
    } finally {
      await pool.stop();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("condition not met in time");
}
