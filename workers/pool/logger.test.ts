import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { describeError } from "../../core/observability/log";
import { createPoolLogger } from "./logger";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe("the pool's pino logger", () => {
  it("writes the platform's JSON lines with bound ids, above the level, with secrets masked", () => {
    const { lines, stream } = capture();
    const logger = createPoolLogger({ service: "pool" }, "info", stream).child({ tenantId: "t-1", conversationId: "c-1" });
    logger.log("debug", "hidden");
    logger.log("info", "turn.answered", { requestId: "r-1", latencyMs: 12 });
    logger.log("error", "consumer.message_failed", {
      ...describeError(new Error("401 Incorrect API key provided: sk-proj-abcdef1234567890")),
      url: "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
      token: "plain-secret-value",
    });
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toMatchObject({
      level: "info",
      event: "turn.answered",
      service: "pool",
      tenantId: "t-1",
      conversationId: "c-1",
      requestId: "r-1",
      latencyMs: 12,
    });
    expect(typeof first!.time).toBe("string");
    expect(second).toMatchObject({ level: "error", event: "consumer.message_failed", token: "[redacted]" });
    const all = lines.join("\n");
    for (const secret of ["sk-proj-abcdef1234567890", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "plain-secret-value"])
      expect(all).not.toContain(secret);
  });

  it("honours the configured level", () => {
    const { lines, stream } = capture();
    const logger = createPoolLogger({}, "warn", stream);
    logger.log("info", "quiet");
    logger.log("warn", "loud");
    expect(lines.map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(["loud"]);
  });
});
