import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentSendError, type OutgoingMail, type SesAccount } from "../../core/channels/adapter";
import { startFakeSes, type FakeSes } from "../../test/fakes/ses";
import { createMailSender } from "./mail";

const ACCESS_KEY = "AKIAFAKESES0000000001";
const SECRET = "fake-ses-secret-key-0000000000000000";

let ses: FakeSes;
beforeAll(async () => {
  ses = await startFakeSes({ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET, verified: ["support.example"] });
});
afterAll(() => ses?.close());

const account: SesAccount = {
  transport: "ses",
  region: "eu-west-1",
  accessKeyId: ACCESS_KEY,
  secretAccessKey: SECRET,
  configurationSet: "agent-replies",
};

const mail: OutgoingMail = {
  from: { name: "Acme Support", address: "help@support.example" },
  to: "customer@example.com",
  replyTo: "inbound@mail.agents.example",
  subject: "Re: Where is my order?",
  text: "It ships **today**.",
  html: "<p>It ships <strong>today</strong>.</p>",
  messageId: "rabc.reply1@support.example",
  inReplyTo: "their-message@mail.example.com",
  references: ["root@mail.example.com", "their-message@mail.example.com"],
  headers: { "Auto-Submitted": "auto-replied" },
};

// Loopback only: the SMTP policy is not consulted for SES, whose endpoint is the platform's setting.
const sender = () => createMailSender({ allowedHosts: [] }, { sesApiBase: ses.url });

describe("createMailSender through Amazon SES (API v2)", () => {
  it("sends the raw reply with its threading headers and answers with the Message-ID SES gave it", async () => {
    const before = ses.sent.length;
    const sent = await sender()(account, mail);
    expect(ses.sent).toHaveLength(before + 1);
    const got = ses.sent.at(-1)!;
    expect(got).toMatchObject({
      from: "help@support.example",
      to: ["customer@example.com"],
      configurationSet: "agent-replies",
      region: "eu-west-1",
    });
    expect(got.raw).toMatch(/^In-Reply-To: <their-message@mail\.example\.com>/m);
    expect(got.raw).toMatch(/^References: <root@mail\.example\.com> <their-message@mail\.example\.com>/m);
    expect(got.raw).toMatch(/^Auto-Submitted: auto-replied/m);
    expect(got.raw).toMatch(/^Reply-To: inbound@mail\.agents\.example/m);
    expect(got.raw).toContain("multipart/alternative");
    expect(sent.messageId).toBe(`${got.sesMessageId}@eu-west-1.amazonses.com`);
  });

  it("fails the reply permanently, with SES's words, when the sender is not verified", async () => {
    const error = await sender()(account, { ...mail, from: { address: "help@elsewhere.example" } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentSendError);
    expect((error as Error).message).toMatch(/MessageRejected: Email address is not verified.*help@elsewhere\.example/);
  });

  it("fails permanently on a wrong secret key (the signature SES recomputes does not match)", async () => {
    const error = await sender()({ ...account, secretAccessKey: "another-secret-key-00000000000000" }, mail).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PermanentSendError);
    expect((error as Error).message).toContain("SignatureDoesNotMatch");
  });

  it("leaves throttling and SES's own failures to the queue's retries", async () => {
    ses.failNext(1, { status: 429, type: "TooManyRequestsException", message: "Maximum sending rate exceeded." });
    ses.failNext(1, { status: 500, type: "InternalFailure", message: "internal" });
    for (let i = 0; i < 2; i += 1) {
      const error = await sender()(account, mail).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(PermanentSendError);
    }
    await expect(sender()(account, mail)).resolves.toHaveProperty("messageId");
  });
});
