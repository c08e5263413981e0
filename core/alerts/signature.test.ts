import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newSigningSecret, signWebhook, verifyWebhookSignature } from "./signature";

describe("webhook signatures", () => {
  it("are HMAC-SHA256 of `<t>.<body>` as documented, and verify", async () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const body = JSON.stringify({ id: "a1", type: "alert.fired" });
    const header = await signWebhook(secret, body, 1_700_000_000);
    // What a receiver in any language computes:
    const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
    expect(header).toBe(`t=1700000000,v1=${expected}`);
    expect(await verifyWebhookSignature(secret, header, body, { now: 1_700_000_100 })).toBe(true);
  });

  it("refuse another body, another secret, a stale timestamp and garbage", async () => {
    const secret = newSigningSecret();
    const header = await signWebhook(secret, "{}", 1_700_000_000);
    expect(await verifyWebhookSignature(secret, header, "{ }", { now: 1_700_000_000 })).toBe(false);
    expect(await verifyWebhookSignature(newSigningSecret(), header, "{}", { now: 1_700_000_000 })).toBe(false);
    expect(await verifyWebhookSignature(secret, header, "{}", { now: 1_700_000_000 + 301 })).toBe(false);
    expect(await verifyWebhookSignature(secret, "nonsense", "{}")).toBe(false);
  });
});
