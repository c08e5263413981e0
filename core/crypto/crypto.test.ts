import { describe, expect, it } from "vitest";
import { constantTimeEqual, deriveSecret } from "./hmac";
import { decryptSecret, encryptSecret, parseKeyring, SecretDecryptionError } from "./secrets";
import { telegramWebhookSecret, verifyTelegramSecret } from "../channels/telegram/webhook-secret";

const key = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "22222222-2222-4222-8222-222222222222" };

describe("webhook secret", () => {
  it("is stable per channel and differs across channels, tenants and keys", async () => {
    const secret = await telegramWebhookSecret(key, address);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await telegramWebhookSecret(key, address)).toBe(secret);
    expect(await telegramWebhookSecret(key, { ...address, channelId: "33333333-3333-4333-8333-333333333333" })).not.toBe(secret);
    expect(await telegramWebhookSecret(key, { ...address, tenantId: "33333333-3333-4333-8333-333333333333" })).not.toBe(secret);
    const otherKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(8)));
    expect(await telegramWebhookSecret(otherKey, address)).not.toBe(secret);
  });

  it("verifies only the exact secret", async () => {
    const secret = await telegramWebhookSecret(key, address);
    expect(await verifyTelegramSecret(key, address, secret)).toBe(true);
    expect(await verifyTelegramSecret(key, address, undefined)).toBe(false);
    expect(await verifyTelegramSecret(key, address, "")).toBe(false);
    expect(await verifyTelegramSecret(key, address, secret.slice(0, -1))).toBe(false);
    expect(await verifyTelegramSecret(key, address, `${secret}x`)).toBe(false);
  });

  it("refuses short signing keys", async () => {
    await expect(deriveSecret("short", "p", "s")).rejects.toThrow(/at least 32/);
  });

  it("compares in constant time semantics", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "ab")).toBe(false);
  });
});

describe("secrets at rest", () => {
  const keyring = parseKeyring(`k1:${key}`);
  const context = { tenantId: address.tenantId, owner: `channel:${address.channelId}` };

  it("round-trips and never contains the plaintext", async () => {
    const sealed = await encryptSecret(keyring, context, "123456:bot-token");
    expect(sealed.startsWith("v1.k1.")).toBe(true);
    expect(sealed).not.toContain("bot-token");
    expect(await decryptSecret(keyring, context, sealed)).toBe("123456:bot-token");
  });

  it("fails for another tenant or owner (associated data)", async () => {
    const sealed = await encryptSecret(keyring, context, "secret");
    await expect(decryptSecret(keyring, { ...context, tenantId: "33333333-3333-4333-8333-333333333333" }, sealed)).rejects.toBeInstanceOf(
      SecretDecryptionError,
    );
    await expect(decryptSecret(keyring, { ...context, owner: "channel:other" }, sealed)).rejects.toBeInstanceOf(SecretDecryptionError);
  });

  it("decrypts with an old key after rotation", async () => {
    const sealed = await encryptSecret(keyring, context, "secret");
    const newKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
    const rotated = parseKeyring(`k2:${newKey},k1:${key}`);
    expect(await decryptSecret(rotated, context, sealed)).toBe("secret");
    expect((await encryptSecret(rotated, context, "secret")).startsWith("v1.k2.")).toBe(true);
  });

  it("rejects malformed keyrings", () => {
    expect(() => parseKeyring("")).toThrow();
    expect(() => parseKeyring("k1:short")).toThrow(/32 bytes/);
  });
});
