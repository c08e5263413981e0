import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SIGNATURE_TOLERANCE_SECONDS, verifyStripeSignature } from "./webhook";

const secret = "whsec_test_secret";
const body = new TextEncoder().encode('{"id":"evt_1","object":"event"}');
const sign = (t: number, payload: Uint8Array = body, key = secret) =>
  createHmac("sha256", key).update(`${t}.`).update(payload).digest("hex");

describe("Stripe-Signature", () => {
  const now = 1_800_000_000;
  it("accepts a v1 signature over <t>.<raw body>, among several", async () => {
    expect(await verifyStripeSignature(secret, `t=${now},v1=${"0".repeat(64)},v1=${sign(now)}`, body, now)).toBe("ok");
  });
  it("refuses another secret, a changed body, a missing header and a v0-only header", async () => {
    expect(await verifyStripeSignature(secret, `t=${now},v1=${sign(now, body, "whsec_other")}`, body, now)).toBe("mismatch");
    expect(await verifyStripeSignature(secret, `t=${now},v1=${sign(now)}`, new TextEncoder().encode('{"id":"evt_2"}'), now)).toBe(
      "mismatch",
    );
    expect(await verifyStripeSignature(secret, null, body, now)).toBe("missing");
    expect(await verifyStripeSignature(secret, `t=${now},v0=${sign(now)}`, body, now)).toBe("missing");
  });
  it("refuses a timestamp outside the tolerance either way", async () => {
    const old = now - SIGNATURE_TOLERANCE_SECONDS - 1;
    expect(await verifyStripeSignature(secret, `t=${old},v1=${sign(old)}`, body, now)).toBe("stale");
    const future = now + SIGNATURE_TOLERANCE_SECONDS + 1;
    expect(await verifyStripeSignature(secret, `t=${future},v1=${sign(future)}`, body, now)).toBe("stale");
  });
});
