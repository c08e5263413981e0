import { describe, expect, it } from "vitest";
import { scrubErrorEvent } from "./error-scrub";

describe("scrubErrorEvent", () => {
  it("drops bodies, cookies, query strings and unknown headers, and masks credentials", () => {
    const event = {
      message: "failed with key sk-live-1234567890abcdef",
      request: {
        url: "https://edge.example/webhooks/telegram/a.b?token=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        data: '{"message":{"text":"my card number is 4111"}}',
        cookies: { session: "s" },
        query_string: "token=x",
        headers: { authorization: "Bearer abc.def.ghi", "x-request-id": "req-1", "x-telegram-bot-api-secret-token": "shh" },
      },
      breadcrumbs: [{ message: "console: hello" }],
      tags: { requestId: "req-1" },
      extra: { nested: { detail: "postgres://app:hunter2@db/x" } },
    };
    const scrubbed = scrubErrorEvent(event);
    const text = JSON.stringify(scrubbed);
    for (const gone of [
      "sk-live-1234567890abcdef",
      "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
      "4111",
      "abc.def.ghi",
      "shh",
      "hunter2",
      "console: hello",
    ]) {
      expect(text).not.toContain(gone);
    }
    expect(scrubbed.request.headers).toEqual({ "x-request-id": "req-1" });
    expect(scrubbed.tags).toEqual({ requestId: "req-1" });
    expect(event.request.data).toContain("4111");
  });
});
