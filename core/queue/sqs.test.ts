import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import type { InboundMessage } from "./inbound-message";
import { createSqsInboundQueue } from "./sqs";

const message: InboundMessage = {
  version: 1,
  kind: "inbound.message",
  tenantId: "11111111-1111-4111-8111-111111111111",
  channelId: "22222222-2222-4222-8222-222222222222",
  channelKind: "telegram",
  conversationKey: "42",
  providerMessageId: "7",
  text: "hi",
  sender: { id: "42" },
  sentAt: new Date(0).toISOString(),
  receivedAt: new Date(0).toISOString(),
};

/** A client whose sends fail with the given errors, in order, then succeed. */
function clientFailing(...failures: unknown[]) {
  const inputs: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      inputs.push(command.input);
      const failure = failures.shift();
      if (failure) throw failure;
      return { MessageId: "m1" };
    },
  } as unknown as SQSClient;
  return { client, inputs };
}

describe("createSqsInboundQueue", () => {
  it("sends once more, with the same deduplication id, after a dropped connection", async () => {
    const { client, inputs } = clientFailing(new TypeError("Network connection lost."));
    await createSqsInboundQueue(client, "http://queue").enqueue(message);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toEqual(inputs[1]);
    expect(inputs[0]).toMatchObject({ MessageGroupId: `${message.channelId}:42`, MessageDeduplicationId: `${message.channelId}:7` });
  });

  it("does not repeat a send the queue refused as a client error, and gives up after the second failure", async () => {
    const refused = Object.assign(new Error("InvalidParameterValue"), { $metadata: { httpStatusCode: 400 } });
    const first = clientFailing(refused);
    await expect(createSqsInboundQueue(first.client, "http://queue").enqueue(message)).rejects.toBe(refused);
    expect(first.inputs).toHaveLength(1);
    const down = Object.assign(new Error("ServiceUnavailable"), { $metadata: { httpStatusCode: 503 } });
    const second = clientFailing(down, down);
    await expect(createSqsInboundQueue(second.client, "http://queue").enqueue(message)).rejects.toBe(down);
    expect(second.inputs).toHaveLength(2);
  });
});
