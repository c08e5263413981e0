import type { Message } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { inGroupOrder } from "./knowledge";

const job = (id: string, group: string): Message => ({ MessageId: id, Body: "{}", Attributes: { MessageGroupId: group } });

describe("inGroupOrder", () => {
  it("runs groups side by side and a group's messages one after another, in the queue's order", async () => {
    const events: string[] = [];
    const release = new Map<string, () => void>();
    const run = (message: Message) =>
      new Promise<boolean>((resolve) => {
        events.push(`start ${message.MessageId}`);
        release.set(message.MessageId!, () => {
          events.push(`end ${message.MessageId}`);
          resolve(true);
        });
      });
    const batch = [job("a1", "source-a"), job("b1", "source-b"), job("a2", "source-a")];
    const done = inGroupOrder(batch, run);
    await Promise.resolve();
    // Both groups started; the second message of source-a waits for its first.
    expect(events).toEqual(["start a1", "start b1"]);
    release.get("b1")!();
    release.get("a1")!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["start a1", "start b1", "end b1", "end a1", "start a2"]);
    release.get("a2")!();
    expect((await done).map((message) => message.MessageId)).toEqual(["b1", "a1", "a2"]);
  });

  it("holds back the rest of a group after a failed message and still runs the other groups", async () => {
    const ran: string[] = [];
    const done = await inGroupOrder([job("a1", "a"), job("a2", "a"), job("b1", "b"), job("b2", "b")], (message) => {
      ran.push(message.MessageId!);
      return Promise.resolve(message.MessageId !== "a1");
    });
    expect(ran.sort()).toEqual(["a1", "b1", "b2"]);
    expect(done.map((message) => message.MessageId).sort()).toEqual(["b1", "b2"]);
  });
});
