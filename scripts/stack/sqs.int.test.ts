import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RECEIVE_COUNT, startSqs, type SqsHandle } from "./sqs";

describe("sqs (fauxqs on 127.0.0.1)", () => {
  let sqs: SqsHandle;
  let client: SQSClient;

  beforeAll(async () => {
    sqs = await startSqs({ queuePrefix: "t-" });
    const { endpoint, region, accessKeyId, secretAccessKey } = sqs;
    // The SDK adds fields to the credentials object it is given: hand it a copy.
    client = new SQSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey } });
  });
  afterAll(async () => {
    client?.destroy();
    await sqs?.stop();
  });

  const send = (group: string, body: string, dedup = body) =>
    client.send(
      new SendMessageCommand({
        QueueUrl: sqs.inboundQueueUrl,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: dedup,
      }),
    );
  const receive = async (queueUrl: string, visibilityTimeout: number) =>
    (
      await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: visibilityTimeout,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      )
    ).Messages ?? [];
  const drain = async () => {
    for (let batch = await receive(sqs.inboundQueueUrl, 30); batch.length > 0; batch = await receive(sqs.inboundQueueUrl, 30)) {
      for (const m of batch) await client.send(new DeleteMessageCommand({ QueueUrl: sqs.inboundQueueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  };

  it("binds loopback and names the queues", () => {
    expect(sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sqs.inboundQueueUrl).toMatch(/\/t-inbound\.fifo$/);
    expect(sqs.deadLetterQueueUrl).toMatch(/\/t-inbound-dlq\.fifo$/);
  });

  it("creates the inbound queue as FIFO, explicit dedup, with a redrive policy", async () => {
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: sqs.inboundQueueUrl, AttributeNames: ["All"] }));
    expect(attrs.Attributes?.FifoQueue).toBe("true");
    expect(attrs.Attributes?.ContentBasedDeduplication).toBe("false");
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? "{}")).toMatchObject({ maxReceiveCount: MAX_RECEIVE_COUNT });
  });

  it("keeps order within a message group", async () => {
    for (let i = 0; i < 5; i++) await send("conv-a", `a${i}`);
    const bodies: string[] = [];
    for (let batch = await receive(sqs.inboundQueueUrl, 30); batch.length > 0; batch = await receive(sqs.inboundQueueUrl, 30)) {
      for (const m of batch) {
        bodies.push(m.Body ?? "");
        await client.send(new DeleteMessageCommand({ QueueUrl: sqs.inboundQueueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    expect(bodies).toEqual(["a0", "a1", "a2", "a3", "a4"]);
  });

  it("drops a second message with the same MessageDeduplicationId", async () => {
    const first = await send("conv-b", "hello", "provider-msg-1");
    const second = await send("conv-b", "hello again", "provider-msg-1");
    expect(second.MessageId).toBe(first.MessageId);
    const got = await receive(sqs.inboundQueueUrl, 30);
    expect(got.map((m) => m.Body)).toEqual(["hello"]);
    await drain();
  });

  it(`moves a message to the DLQ after ${MAX_RECEIVE_COUNT} receives without delete`, async () => {
    await send("conv-c", "poison");
    const counts: string[] = [];
    for (let i = 0; i < MAX_RECEIVE_COUNT; i++) {
      const [m] = await receive(sqs.inboundQueueUrl, 0); // visible again at once
      counts.push(m?.Attributes?.ApproximateReceiveCount ?? "none");
    }
    expect(counts).toEqual(["1", "2", "3", "4", "5"]);
    // Like SQS, the move happens on the next receive attempt past maxReceiveCount.
    expect(await receive(sqs.inboundQueueUrl, 0)).toEqual([]);
    const dead = await receive(sqs.deadLetterQueueUrl, 30);
    expect(dead.map((m) => m.Body)).toEqual(["poison"]);
  });
});
