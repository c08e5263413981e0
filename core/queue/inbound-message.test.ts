import { describe, expect, it } from "vitest";
import { deduplicationId, inboundMessage, messageGroupId } from "./inbound-message";

const valid = {
  version: 1,
  kind: "inbound.message",
  tenantId: "11111111-1111-4111-8111-111111111111",
  channelId: "22222222-2222-4222-8222-222222222222",
  channelKind: "telegram",
  conversationKey: "-100123",
  providerMessageId: "987",
  text: "hi",
  sender: { id: "42" },
  sentAt: "2026-11-25T10:00:00.000Z",
  receivedAt: "2026-11-25T10:00:01.000Z",
} as const;

describe("inbound message contract", () => {
  it("accepts a v1 message", () => {
    expect(inboundMessage.parse(valid)).toEqual(valid);
  });

  it("rejects unknown versions and missing tenants", () => {
    expect(inboundMessage.safeParse({ ...valid, version: 2 }).success).toBe(false);
    expect(inboundMessage.safeParse({ ...valid, tenantId: "not-a-uuid" }).success).toBe(false);
  });

  it("groups by conversation and deduplicates by provider id within SQS limits", () => {
    expect(messageGroupId(valid)).toBe(`${valid.channelId}:-100123`);
    expect(deduplicationId(valid)).toBe(`${valid.channelId}:987`);
    expect(messageGroupId({ ...valid, conversationKey: "x".repeat(200) })).toHaveLength(128);
  });
});
