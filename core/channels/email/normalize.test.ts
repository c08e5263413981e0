import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { inboundMessage, type InboundChatMessage, type DeliveryStatusMessage } from "../../queue/inbound-message";
import { normalizeEmail } from "./normalize";
import { conversationKeyOf, threadIdOf } from "./thread";

const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "22222222-2222-4222-8222-222222222222" };
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../../test/fixtures/email/${name}`, import.meta.url)));
const receivedAt = new Date("2026-12-05T10:00:00Z");

async function normalized(name: string | Uint8Array) {
  const result = await normalizeEmail({
    address,
    raw: typeof name === "string" ? fixture(name) : name,
    receivedAt,
    ownDomain: "in.agents.example",
  });
  // Whatever comes out is a valid queue message.
  for (const message of result.messages) expect(inboundMessage.safeParse(message).success).toBe(true);
  return result;
}

async function chat(name: string): Promise<InboundChatMessage> {
  const result = await normalized(name);
  expect(result.ignored).toEqual([]);
  expect(result.messages).toHaveLength(1);
  return result.messages[0] as InboundChatMessage;
}

describe("normalizeEmail: real clients' replies", () => {
  it("Gmail: the text/plain part without the wrapped attribution and quotes, threaded by the root of References", async () => {
    const message = await chat("gmail-reply.eml");
    expect(message.text).toBe("Thanks! Can you send it to my office address instead?");
    expect(message.sender).toEqual({ id: "ana.silva@gmail.com", displayName: "Ana Silva" });
    expect(message.providerMessageId).toBe("CAK7xW=second@mail.gmail.com");
    expect(message.email).toMatchObject({
      subject: "Re: Order 1042 has not arrived",
      messageId: "CAK7xW=second@mail.gmail.com",
      references: ["CAK7xW=first@mail.gmail.com", "rabcdefghijklmnopqrstuvwxyz.5b0c6f7e-8d2a-4c1b-9e3f-0a1b2c3d4e5f@shop.example.com"],
    });
    // Same conversation as the thread's first message from the same person.
    const first = await threadIdOf({ messageId: "CAK7xW=first@mail.gmail.com", inReplyTo: undefined, references: [] });
    expect(message.email!.threadId).toBe(first);
    expect(message.conversationKey).toBe(await conversationKeyOf("ana.silva@gmail.com", first));
  });

  it("Outlook: HTML only, cut at the From/Sent/To/Subject block; a reply keeping only In-Reply-To to ours joins our thread", async () => {
    const message = await chat("outlook-reply.eml");
    expect(message.text).toContain("Please send the invoice as a PDF.");
    expect(message.text).not.toContain("attached to your account page");
    expect(message.text).not.toContain("Sent:");
    expect(message.sender.displayName).toBe("Brown, Tom");
    expect(message.email!.subject).toBe("RE: Invoice question");
    expect(message.email!.threadId).toBe("rbcdefghijklmnopqrstuvwxyza");
  });

  it("Apple Mail: quoted-printable UTF-8, the device footer and the > quotes removed", async () => {
    const message = await chat("apple-mail-reply.eml");
    expect(message.text).toBe("Could we make it 8 pm instead? Grüße");
    expect(message.providerMessageId).toBe("9E8D7C6B-AAAA-BBBB-CCCC-DDDDEEEEFFFF@icloud.com");
  });

  it("ISO-8859-1 body and encoded-word sender and subject are decoded", async () => {
    const message = await chat("iso-8859-1.eml");
    expect(message.sender.displayName).toBe("José Muñoz");
    expect(message.email!.subject).toBe("Factura de diciembre ¿dónde está?");
    expect(message.text).toContain("¿Me la pueden enviar otra vez?");
    expect(message.text).toContain("Gracias, José");
  });

  it("attachments travel as references with name, type and size, not content", async () => {
    const message = await chat("attachments.eml");
    expect(message.text).toBe("The mug arrived broken, see the photo and the receipt.");
    expect(message.attachments).toEqual([
      { kind: "image", mimeType: "image/jpeg", fileName: "mug.jpg", fileSize: expect.any(Number) },
      { kind: "document", mimeType: "application/pdf", fileName: "receipt.pdf", fileSize: expect.any(Number) },
    ]);
    expect(JSON.stringify(message)).not.toContain("JVBERi0");
  });
});

describe("normalizeEmail: mail that is not a person's message", () => {
  it("a delivery status notification about one of our replies becomes a failed delivery status for it", async () => {
    const result = await normalized("dsn-bounce.eml");
    expect(result.messages).toHaveLength(1);
    const status = result.messages[0] as DeliveryStatusMessage;
    expect(status).toMatchObject({
      kind: "delivery.status",
      status: "failed",
      outboundProviderMessageId: "rabcdefghijklmnopqrstuvwxyz.5b0c6f7e-8d2a-4c1b-9e3f-0a1b2c3d4e5f@shop.example.com",
    });
    expect(status.error).toContain("550 5.1.1");
  });

  it("an out-of-office reply is not answered", async () => {
    expect(await normalized("out-of-office.eml")).toEqual({ messages: [], ignored: ["email:auto_submitted"] });
  });

  it.each([
    ["Precedence: bulk", "email:bulk"],
    ["X-Autorespond: yes", "email:auto_reply"],
    ["Auto-Submitted: auto-generated", "email:auto_submitted"],
  ])("%s is not answered", async (header, reason) => {
    const raw = `From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMessage-ID: <x@example.com>\r\n${header}\r\n\r\nhello\r\n`;
    expect((await normalized(new TextEncoder().encode(raw))).ignored).toEqual([reason]);
  });

  it("Auto-Submitted: no is a person's message; mail from our own domain and from mailer-daemon is not answered", async () => {
    const mail = (from: string, extra = "") =>
      new TextEncoder().encode(`From: ${from}\r\nTo: b@example.com\r\nSubject: x\r\nMessage-ID: <x@example.com>\r\n${extra}\r\nhello\r\n`);
    expect((await normalized(mail("a@example.com", "Auto-Submitted: no\r\n"))).messages).toHaveLength(1);
    expect((await normalized(mail("agent@in.agents.example"))).ignored).toEqual(["email:own_address"]);
    expect((await normalized(mail("MAILER-DAEMON@example.com"))).ignored).toEqual(["email:mailer_daemon"]);
  });
});

describe("normalizeEmail: hostile or broken input", () => {
  it("a subject that decodes to a line break and a Bcc header stays one line", async () => {
    const message = await chat("header-injection.eml");
    expect(message.email!.subject).toBe("Hello Bcc: victim@example.com");
    expect(message.email!.subject).not.toMatch(/[\r\n]/);
  });

  it("malformed MIME (an unclosed boundary, an unknown charset, broken base64) gives a safe result with a stable hash id", async () => {
    const first = await normalized("malformed.eml");
    const again = await normalized("malformed.eml");
    expect(first.messages).toHaveLength(1);
    const message = first.messages[0] as InboundChatMessage;
    expect(message.providerMessageId).toMatch(/^h:[0-9a-f]{64}$/);
    expect(message.providerMessageId).toBe((again.messages[0] as InboundChatMessage).providerMessageId);
    expect(message.email!.subject).toBe("half a message");
  });

  it("a long Message-ID is hashed into the queue's 128 characters; a huge body is cut with a note", async () => {
    const id = `${"x".repeat(300)}@example.com`;
    const raw = new TextEncoder().encode(
      `From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\nMessage-ID: <${id}>\r\n\r\n${"word ".repeat(20_000)}\r\n`,
    );
    const message = (await normalized(raw)).messages[0] as InboundChatMessage;
    expect(message.providerMessageId).toMatch(/^h:[0-9a-f]{64}$/);
    expect(message.email!.messageId).toBe(id);
    expect(message.text.length).toBeLessThan(32_768);
    expect(message.text).toMatch(/the rest of this email was cut\]$/);
  });

  it("another sender on the same thread gets a conversation of their own", async () => {
    const mail = (from: string) =>
      new TextEncoder().encode(
        `From: ${from}\r\nTo: b@example.com\r\nSubject: Re: x\r\nMessage-ID: <${from}-1@example.com>\r\nReferences: <root@example.com>\r\n\r\nhello\r\n`,
      );
    const owner = (await normalized(mail("owner@example.com"))).messages[0] as InboundChatMessage;
    const stranger = (await normalized(mail("stranger@example.com"))).messages[0] as InboundChatMessage;
    expect(owner.email!.threadId).toBe(stranger.email!.threadId);
    expect(owner.conversationKey).not.toBe(stranger.conversationKey);
  });
});
