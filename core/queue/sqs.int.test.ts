import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqsClientFor, startSqs, type SqsHandle } from "../../scripts/stack/sqs";
import { inboundChatMessage } from "./builders";
import { inboundMessage } from "./inbound-message";
import { createSqsInboundQueue, sqsOverFetch, sqsOverSdk, sqsSafeJson, type SqsSend } from "./sqs";

describe("queue bodies through the real SQS emulator", () => {
  let sqs: SqsHandle;
  let client: SQSClient;
  /** The two transports the senders run on: the SDK (the pool) and aws4fetch (the edge). */
  const transports: Record<"sdk" | "fetch", () => SqsSend> = {
    sdk: () => sqsOverSdk(client),
    fetch: () =>
      sqsOverFetch({ region: sqs.region, endpoint: sqs.endpoint, accessKeyId: sqs.accessKeyId, secretAccessKey: sqs.secretAccessKey }),
  };

  beforeAll(async () => {
    sqs = await startSqs({ queuePrefix: "safe-" });
    client = sqsClientFor(sqs);
  });
  afterAll(async () => {
    client?.destroy();
    await sqs?.stop();
  });

  const receiveAll = async () =>
    (await client.send(new ReceiveMessageCommand({ QueueUrl: sqs.inboundQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 })))
      .Messages ?? [];

  // Emoji (outside the BMP), a lone surrogate, the two non-characters SQS refuses, a NUL-adjacent control and RTL text.
  const text = "Order 👋🏽 ready? \ud800 lone \ufffe\uffff tab\tend \u0001 مرحبا";

  it("the emulator refuses the raw JSON of a message with an emoji (why bodies are escaped)", async () => {
    await expect(
      client.send(
        new SendMessageCommand({
          QueueUrl: sqs.inboundQueueUrl,
          MessageBody: JSON.stringify({ text: "👋" }),
          MessageGroupId: "g",
          MessageDeduplicationId: "raw",
        }),
      ),
    ).rejects.toThrow();
  });

  it.each(["sdk", "fetch"] as const)(
    "queues a message with emoji and characters SQS refuses, and it decodes back unchanged (%s)",
    async (transport) => {
      const message = inboundChatMessage(
        {
          tenantId: "11111111-1111-4111-8111-111111111111",
          channelId: "22222222-2222-4222-8222-222222222222",
          channelKind: "telegram",
          conversationKey: `42-${transport}`, // a FIFO group of its own: the other run leaves its message in flight
          providerMessageId: `emoji-${transport}`, // apart per transport: the queue deduplicates ids for five minutes
          receivedAt: new Date(0),
        },
        { text, sender: { id: "42", displayName: "Zoë 🦊" }, sentAt: new Date(0).toISOString() },
      );
      await createSqsInboundQueue(transports[transport](), sqs.inboundQueueUrl).enqueue(message);
      const [received] = await receiveAll();
      expect(received?.Body).not.toMatch(/[\ud800-\udfff\ufffe\uffff]/);
      const decoded = inboundMessage.parse(JSON.parse(received!.Body!));
      expect(decoded).toEqual(message);
      expect(decoded.kind === "inbound.message" && decoded.text).toBe(text);
    },
  );

  it.each(["sdk", "fetch"] as const)(
    "queues a webhook's batch of 25 across conversations in order, in batch calls (%s)",
    async (transport) => {
      const queue = createSqsInboundQueue(transports[transport](), sqs.inboundQueueUrl);
      const batch = Array.from({ length: 25 }, (_, i) =>
        inboundChatMessage(
          {
            tenantId: "11111111-1111-4111-8111-111111111111",
            channelId: "22222222-2222-4222-8222-222222222222",
            channelKind: "whatsapp",
            conversationKey: `1650555000${i % 3}`,
            providerMessageId: `batch-${transport}-${i}`,
            receivedAt: new Date(0),
          },
          { text: `message ${i} 🙂`, sender: { id: `1650555000${i % 3}` }, sentAt: new Date(0).toISOString() },
        ),
      );
      await queue.enqueueAll!(batch);
      const received: string[] = [];
      for (let round = 0; round < 10 && received.length < 25; round++) {
        const messages = await receiveAll();
        for (const m of messages) {
          received.push((JSON.parse(m.Body!) as { providerMessageId: string }).providerMessageId);
          await client.send(new DeleteMessageCommand({ QueueUrl: sqs.inboundQueueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
      }
      expect([...received].sort()).toEqual(batch.map((m) => m.providerMessageId).sort());
      // Each conversation's messages arrive in the order they were listed.
      for (const group of [0, 1, 2]) {
        const order = received.map((id) => Number(id.split("-")[2])).filter((i) => i % 3 === group);
        expect(order).toEqual([...order].sort((x, y) => x - y));
      }
    },
  );

  it("over fetch: checks readiness, and reports a refusal with the queue's error name and status, as the SDK does", async () => {
    const fetchSend = transports.fetch();
    await createSqsInboundQueue(fetchSend, sqs.inboundQueueUrl).checkReady();
    const missing = `${sqs.inboundQueueUrl.replace(/[^/]+$/, "")}no-such-queue.fifo`;
    const refusal = await createSqsInboundQueue(fetchSend, missing)
      .checkReady()
      .catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
      $metadata: { httpStatusCode: 400 },
    });
    const wrongKey = sqsOverFetch({
      region: sqs.region,
      endpoint: sqs.endpoint,
      accessKeyId: sqs.accessKeyId,
      secretAccessKey: "not-the-key",
    });
    // The emulator accepts any signature; what matters here is that a signed request is well formed.
    await expect(createSqsInboundQueue(wrongKey, sqs.inboundQueueUrl).checkReady()).resolves.toBeUndefined();
  });

  it("escapes only what needs it", () => {
    expect(sqsSafeJson({ text: "plain é ü 中文" })).toBe(JSON.stringify({ text: "plain é ü 中文" }));
    expect(sqsSafeJson({ text: "👋" })).toBe('{"text":"\\ud83d\\udc4b"}');
    expect(JSON.parse(sqsSafeJson({ text: "\uffff\ud800" }))).toEqual({ text: "\uffff\ud800" });
  });
});
