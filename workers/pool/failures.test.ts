import { describe, expect, it } from "vitest";
import { TelegramApiError } from "../../core/channels/telegram/bot-api";
import { backoffDelay } from "./backoff";
import { failureCode, isTransientFailure } from "./failures";

describe("failure classification", () => {
  it("treats lost connections, database restarts, 429 and 5xx as transient", () => {
    expect(isTransientFailure(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5433"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isTransientFailure(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }))).toBe(
      true,
    );
    expect(isTransientFailure(new TelegramApiError("sendMessage", 429, "Too Many Requests"))).toBe(true);
    expect(isTransientFailure(new TelegramApiError("sendMessage", 502, "Bad Gateway"))).toBe(true);
    expect(isTransientFailure(new Error("wrapped", { cause: Object.assign(new Error("x"), { code: "ECONNRESET" }) }))).toBe(true);
  });

  it("sends everything else through the queue's retries", () => {
    expect(isTransientFailure(new TelegramApiError("sendMessage", 400, "Bad Request: chat not found"))).toBe(false);
    expect(isTransientFailure(Object.assign(new Error("channel not found for this tenant"), { code: "UNPROCESSABLE_MESSAGE" }))).toBe(
      false,
    );
    expect(isTransientFailure(new SyntaxError("Unexpected token"))).toBe(false);
    expect(failureCode(Object.assign(new Error("x"), { code: "INVALID_QUEUE_MESSAGE" }))).toBe("INVALID_QUEUE_MESSAGE");
    expect(failureCode(new SyntaxError("x"))).toBe("SyntaxError");
  });
});

describe("backoff", () => {
  it("grows exponentially up to the cap, with jitter that never reaches zero", () => {
    const policy = { baseMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(500);
    expect(backoffDelay(3, policy, () => 1)).toBe(4_000);
    expect(backoffDelay(20, policy, () => 1)).toBe(30_000);
    expect(backoffDelay(20, policy, () => 0)).toBe(3_000);
  });
});
