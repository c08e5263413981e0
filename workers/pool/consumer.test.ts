import type { DeleteMessageBatchCommand, Message, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { coalescedDeletes, inProviderOrder } from "./consumer";

const message = (id: string, group: string, sequence?: number): Message => ({
  MessageId: id,
  Body: JSON.stringify(sequence === undefined ? { kind: "inbound.message" } : { kind: "inbound.message", sequence }),
  Attributes: { MessageGroupId: group },
});

describe("inProviderOrder", () => {
  it("orders each conversation's messages by the provider's sequence, leaving other conversations alone", () => {
    const batch = [
      message("a12", "chat-a", 12),
      message("b5", "chat-b", 5),
      message("a11", "chat-a", 11),
      message("a13", "chat-a", 13),
      message("b4", "chat-b", 4),
    ];
    expect(inProviderOrder(batch).map((m) => m.MessageId)).toEqual(["a11", "a12", "a13", "b4", "b5"]);
  });

  it("keeps the queue's order for a conversation where a message has no sequence or the body is not JSON", () => {
    const noSequence = [message("x2", "chat-x", 2), message("x-none", "chat-x"), message("x1", "chat-x", 1)];
    expect(inProviderOrder(noSequence).map((m) => m.MessageId)).toEqual(["x2", "x-none", "x1"]);
    const garbage: Message = { MessageId: "g", Body: "{not json", Attributes: { MessageGroupId: "chat-y" } };
    expect(inProviderOrder([message("y2", "chat-y", 2), garbage]).map((m) => m.MessageId)).toEqual(["y2", "g"]);
  });
});

describe("coalescedDeletes", () => {
  /** A queue client that records each DeleteMessageBatch call's handles and answers as `answer` says. */
  function recordingClient(answer: (handles: string[]) => { failed?: string[]; error?: Error } = () => ({})) {
    const calls: string[][] = [];
    const client = {
      send: async (command: DeleteMessageBatchCommand) => {
        const entries = command.input.Entries ?? [];
        const handles = entries.map((entry) => entry.ReceiptHandle!);
        calls.push(handles);
        await new Promise((resolve) => setTimeout(resolve, 1));
        const { failed = [], error } = answer(handles);
        if (error) throw error;
        return {
          Successful: entries.filter((entry) => !failed.includes(entry.ReceiptHandle!)).map((entry) => ({ Id: entry.Id })),
          Failed: entries
            .filter((entry) => failed.includes(entry.ReceiptHandle!))
            .map((entry) => ({ Id: entry.Id, Code: "ReceiptHandleIsInvalid", SenderFault: true })),
        };
      },
    } as unknown as SQSClient;
    return { client, calls };
  }

  it("sends at most 10 handles a call, rejects only the entry the queue refused, and every entry of a call that failed", async () => {
    let failNext = false;
    const { client, calls } = recordingClient((handles) => {
      if (failNext) {
        failNext = false;
        return { error: new Error("connection reset") };
      }
      return { failed: handles.filter((handle) => handle === "stale") };
    });
    const remove = coalescedDeletes(client, "http://queue");
    const results = await Promise.allSettled([remove("first"), remove("ok"), remove("stale")]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain("ReceiptHandleIsInvalid");
    failNext = true;
    await expect(remove("lost")).rejects.toThrow("connection reset");
    await expect(remove("after")).resolves.toBeUndefined();
    await Promise.all(Array.from({ length: 12 }, (_, i) => remove(`h${i}`)));
    // Asked while the last request's turn is held: none goes alone, and at most 10 a call.
    expect(calls.slice(-2).map((call) => call.length)).toEqual([10, 2]);
  });
});
