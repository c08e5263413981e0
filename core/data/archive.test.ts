import { describe, expect, it } from "vitest";
import { encryptSecret, parseKeyring } from "../crypto/secrets";
import { scrubRow } from "./archive";

const keyring = parseKeyring(`k1:${Buffer.alloc(32, 3).toString("base64")}`);

describe("what an export leaves out of a row", () => {
  it("nulls sealed values, cuts them out of URLs, and drops reply URLs", async () => {
    const sealed = await encryptSecret(keyring, { tenantId: "t", owner: "sms-webhook:c" }, "0123456789abcdef0123456789abcdef");
    const channel = scrubRow("channels", {
      credentials: sealed,
      config: {
        phoneNumber: "+15005550006",
        statusCallbackUrl: `https://agents.example.com/webhooks/twilio/sms/a.b?s=${sealed}&v=1`,
        nested: [sealed],
      },
    });
    expect(channel).toEqual({
      credentials: null,
      config: {
        phoneNumber: "+15005550006",
        statusCallbackUrl: "https://agents.example.com/webhooks/twilio/sms/a.b?s=&v=1",
        nested: [null],
      },
    });
    const message = scrubRow("messages", {
      content: "hello",
      sender: { id: "+14155550100", replyUrl: "https://agents.example.com/voice/relay/a.b/CA1/reply?t=x" },
    });
    expect(message).toEqual({ content: "hello", sender: { id: "+14155550100" } });
    expect(JSON.stringify([channel, message])).not.toContain(sealed.split(".")[3]!);
  });
});
