import type { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import type { InboundMessage } from "./inbound-message";
import { createSqsInboundQueue, sqsOverSdk } from "./sqs";

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
  return { client: sqsOverSdk(client), inputs };
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

describe("createSqsInboundQueue().enqueueAll", () => {
  const inGroup = (chat: string, n: number): InboundMessage => ({ ...message, conversationKey: chat, providerMessageId: `${chat}-${n}` });
  /** A client that records every batch and refuses the entries `refuse` names, once each. */
  function batchClient(refuse: (entry: { Id?: string; MessageDeduplicationId?: string }) => "retry" | "sender" | undefined) {
    const batches: Array<Array<{ Id?: string; MessageGroupId?: string; MessageDeduplicationId?: string }>> = [];
    const refused = new Set<string>();
    const client = {
      send: async (command: { input: { Entries: Array<{ Id?: string; MessageGroupId?: string; MessageDeduplicationId?: string }> } }) => {
        const entries = command.input.Entries;
        batches.push(entries);
        const Failed = entries.flatMap((entry) => {
          const verdict = refused.has(entry.MessageDeduplicationId!) ? undefined : refuse(entry);
          if (!verdict) return [];
          refused.add(entry.MessageDeduplicationId!);
          return [
            { Id: entry.Id, Code: verdict === "sender" ? "InvalidParameterValue" : "InternalError", SenderFault: verdict === "sender" },
          ];
        });
        return { Successful: [], Failed };
      },
    } as unknown as SQSClient;
    return { client: sqsOverSdk(client), batches };
  }

  it("sends up to 10 a call, one per conversation in any one call, so nothing overtakes", async () => {
    const { client, batches } = batchClient(() => undefined);
    const messages = [...Array.from({ length: 12 }, (_, i) => inGroup(`c${i}`, 1)), inGroup("c0", 2), inGroup("c0", 3)];
    await createSqsInboundQueue(client, "http://queue").enqueueAll!(messages);
    expect(batches.map((batch) => batch.length)).toEqual([10, 3, 1]);
    for (const batch of batches) expect(new Set(batch.map((entry) => entry.MessageGroupId)).size).toBe(batch.length);
    const c0 = batches.flat().filter((entry) => entry.MessageGroupId!.endsWith(":c0"));
    expect(c0.map((entry) => entry.MessageDeduplicationId!.split(":")[1])).toEqual(["c0-1", "c0-2", "c0-3"]);
  });

  it("sends a refused entry again before the rest of its conversation, and fails on a sender fault", async () => {
    const { client, batches } = batchClient((entry) => (entry.MessageDeduplicationId!.endsWith("a-1") ? "retry" : undefined));
    await createSqsInboundQueue(client, "http://queue").enqueueAll!([inGroup("a", 1), inGroup("a", 2), inGroup("b", 1)]);
    const sent = batches.map((batch) => batch.map((entry) => entry.MessageDeduplicationId!.split(":")[1]));
    expect(sent).toEqual([["a-1", "b-1"], ["a-1"], ["a-2"]]);

    const faulty = batchClient((entry) => (entry.MessageDeduplicationId!.endsWith("b-1") ? "sender" : undefined));
    await expect(createSqsInboundQueue(faulty.client, "http://queue").enqueueAll!([inGroup("a", 1), inGroup("b", 1)])).rejects.toThrow(
      /refused message 1 of the batch: InvalidParameterValue/,
    );
  });
});
