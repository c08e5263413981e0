import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, describeError, redactSecrets } from "./log";

describe("redactSecrets", () => {
  it("masks keys, bot tokens, bearer values and URL passwords", () => {
    const text =
      "Incorrect API key provided: sk-proj-abcdef123456. POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage " +
      "token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw Authorization: Bearer eyJhbGciOi.payload.sig postgres://app:hunter2@db:5432/x";
    const redacted = redactSecrets(text);
    for (const secret of ["sk-proj-abcdef123456", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "eyJhbGciOi", "hunter2"]) {
      expect(redacted).not.toContain(secret);
    }
    expect(redacted).toContain("postgres://app:[redacted]@db:5432/x");
  });

  it("leaves ordinary text alone", () => {
    expect(redactSecrets("chat not found (400) for update 12345")).toBe("chat not found (400) for update 12345");
  });
});

describe("logger", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one JSON object a line with the bound fields, above the level", () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    const logger = createLogger({ service: "test" }, "info").child({ requestId: "r1" });
    logger.log("debug", "hidden");
    logger.log("info", "shown", describeError(Object.assign(new Error("key sk-live-1234567890 rejected"), { code: "X" })));
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: "info", event: "shown", service: "test", requestId: "r1", code: "X" });
    expect(lines[0]).not.toContain("sk-live-1234567890");
  });
});
