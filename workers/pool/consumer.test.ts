import type { Message } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { inProviderOrder } from "./consumer";

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
