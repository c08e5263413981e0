import { describe, expect, it } from "vitest";
import { formatChannelAddress, parseChannelAddress } from "./address";

describe("channel address", () => {
  const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "22222222-2222-4222-8222-222222222222" };

  it("round-trips", () => {
    expect(parseChannelAddress(formatChannelAddress(address))).toEqual(address);
  });

  it("rejects anything else", () => {
    for (const text of [
      "",
      "abc",
      address.tenantId,
      `${address.tenantId}.`,
      `${address.tenantId}.${address.channelId}.x`,
      "../etc.passwd",
    ]) {
      expect(parseChannelAddress(text)).toBeUndefined();
    }
  });
});
