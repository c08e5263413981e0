import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatChannelAddress } from "../../../../core/channels/address";
import { sesEndpointToken } from "../../../../core/channels/email/ses";
import type { InboundChatMessage } from "../../../../core/queue/inbound-message";
import { startFakeSns, type FakeSns } from "../../../../test/fakes/sns";
import { recordingEdgeServices, testEdgeEnv } from "../../../../test/support/edge";
import { newApp } from "../../app";

const signingKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const address = { tenantId: "11111111-1111-4111-8111-111111111111", channelId: "44444444-4444-4444-8444-444444444444" };
const gmail = readFileSync(new URL("../../../../test/fixtures/email/gmail-reply.eml", import.meta.url), "utf8");

let sns: FakeSns;
let token: string;
beforeAll(async () => {
  sns = await startFakeSns();
  token = await sesEndpointToken(signingKey, address);
});
afterAll(() => sns?.close());

function setup(trusted = true) {
  const { enqueued, services } = recordingEdgeServices();
  const app = newApp(services);
  const env = testEdgeEnv(signingKey, trusted ? { SNS_TRUSTED_BASE_URL: sns.url } : {});
  const post = async (body: unknown, query = `?token=${token}`) => {
    const response = await app.fetch(
      new Request(`http://edge/webhooks/ses/${formatChannelAddress(address)}${query}`, {
        method: "POST",
        // SNS posts JSON as text/plain.
        headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
      env,
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string } } };
  };
  return { enqueued, post };
}

describe("POST /webhooks/ses/:address (Amazon SES through SNS)", () => {
  it.each(["1", "2"] as const)("queues the mail of a signed notification (signature version %s), inline or base64", async (version) => {
    const { enqueued, post } = setup();
    const utf8 = await sns.message({ Type: "Notification", Message: sns.sesReceived(gmail, "UTF8") }, { version });
    const base64 = await sns.message({ Type: "Notification", Message: sns.sesReceived(gmail, "BASE64") }, { version });
    expect((await post(utf8)).status).toBe(200);
    expect((await post(base64)).status).toBe(200);
    expect(enqueued).toHaveLength(2);
    const message = enqueued[0] as InboundChatMessage;
    expect(message).toMatchObject({
      kind: "inbound.message",
      channelKind: "email",
      ...address,
      text: "Thanks! Can you send it to my office address instead?",
    });
    expect(enqueued[1]).toMatchObject({ providerMessageId: message.providerMessageId });
  });

  it("answers 401 without the endpoint's token, before reading the body", async () => {
    const { enqueued, post } = setup();
    const signed = await sns.message({ Type: "Notification", Message: sns.sesReceived(gmail) });
    expect((await post(signed, "")).status).toBe(401);
    expect((await post(signed, "?token=wrong")).status).toBe(401);
    expect(enqueued).toEqual([]);
  });

  it("answers 403 to a forged signature, a foreign certificate URL, and a loopback certificate in production", async () => {
    const { enqueued, post } = setup();
    const signed = await sns.message({ Type: "Notification", Message: sns.sesReceived(gmail) });
    const forged = { ...signed, Message: sns.sesReceived(gmail.replace("office address", "new address")) };
    expect(await post(forged)).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    const foreign = await sns.message({
      Type: "Notification",
      Message: sns.sesReceived(gmail),
      SigningCertURL: "https://attacker.example/cert.pem",
    });
    expect((await post(foreign)).status).toBe(403);
    const lookalike = await sns.message({
      Type: "Notification",
      Message: sns.sesReceived(gmail),
      SigningCertURL: "https://sns.us-east-1.amazonaws.com.attacker.example/cert.pem",
    });
    expect((await post(lookalike)).status).toBe(403);
    // Without the test-only trusted base, only https://sns.<region>.amazonaws.com is SNS.
    expect((await setup(false).post(signed)).status).toBe(403);
    expect(enqueued).toEqual([]);
  });

  it("confirms a subscription through SNS's own URL only", async () => {
    const { enqueued, post } = setup();
    const confirmation = await sns.message({ Type: "SubscriptionConfirmation", Message: "You have chosen to subscribe…" });
    expect(await post(confirmation)).toMatchObject({ status: 200, body: { ignored: "sns:subscription_confirmed" } });
    expect(sns.confirmed()).toContain(confirmation.Token);
    const elsewhere = await sns.message({
      Type: "SubscriptionConfirmation",
      Message: "subscribe",
      SubscribeURL: "https://attacker.example/?Action=ConfirmSubscription",
    });
    expect(await post(elsewhere)).toMatchObject({ status: 200, body: { ignored: "sns:untrusted_subscribe_url" } });
    expect(enqueued).toEqual([]);
  });

  it("answers 400 with the fields to a body that is not an SNS message", async () => {
    const { post } = setup();
    expect(await post({ hello: "world" })).toMatchObject({ status: 400, body: { error: { code: "INVALID_BODY" } } });
    expect(await post("not json")).toMatchObject({ status: 400, body: { error: { code: "INVALID_JSON" } } });
  });

  it("turns SES's bounce and delivery events for our replies into delivery statuses of the Message-ID SES gave them", async () => {
    const { enqueued, post } = setup();
    const event = (fields: Record<string, unknown>, topicRegion = "eu-west-1") =>
      sns.message({
        Type: "Notification",
        TopicArn: `arn:aws:sns:${topicRegion}:123456789012:ses-events`,
        Message: JSON.stringify({ mail: { messageId: "0100019abc-1", timestamp: "2026-12-06T10:00:00.000Z" }, ...fields }),
      });
    const bounce = {
      eventType: "Bounce",
      bounce: {
        bounceType: "Permanent",
        bouncedRecipients: [{ emailAddress: "gone@example.com", diagnosticCode: "smtp; 550 5.1.1 user unknown" }],
        timestamp: "2026-12-06T10:00:05.000Z",
      },
    };
    expect((await post(await event(bounce))).status).toBe(200);
    expect(
      (await post(await event({ notificationType: "Delivery", delivery: { timestamp: "2026-12-06T10:00:02.000Z" } }, "us-east-1"))).status,
    ).toBe(200);
    const transient = { notificationType: "Bounce", bounce: { bounceType: "Transient", bouncedRecipients: [] } };
    expect(await post(await event(transient))).toMatchObject({ status: 200, body: { ignored: "ses:transient_bounce" } });
    expect(enqueued).toMatchObject([
      {
        kind: "delivery.status",
        outboundProviderMessageId: "0100019abc-1@eu-west-1.amazonses.com",
        status: "failed",
        error: "gone@example.com: smtp; 550 5.1.1 user unknown",
      },
      { kind: "delivery.status", outboundProviderMessageId: "0100019abc-1@email.amazonses.com", status: "delivered" },
    ]);
  });

  it("acknowledges an S3-action notification without the message's headers, with the reason", async () => {
    const { enqueued, post } = setup();
    const s3 = await sns.message({
      Type: "Notification",
      Message: JSON.stringify({
        notificationType: "Received",
        receipt: { action: { type: "S3", bucketName: "acme-inbound", objectKey: "k" } },
      }),
    });
    expect(await post(s3)).toMatchObject({ status: 200, body: { ignored: "ses:no_content_s3_action" } });
    expect(enqueued).toEqual([]);
  });

  it("queues an S3-action notification's mail by its headers, with the stored object as the body's reference", async () => {
    const { enqueued, post } = setup();
    const stored = JSON.parse(sns.sesStored(gmail, { bucket: "acme-inbound", key: "mail/abc123" })) as {
      mail: { headers: Array<{ name: string; value: string }> };
    };
    // A line break in a header value cannot smuggle a header (or a body) into the head built from them.
    stored.mail.headers.push({ name: "X-Note", value: "x\r\nBcc: victim@example.com\r\n\r\nbody" });
    const notification = await sns.message({ Type: "Notification", Message: JSON.stringify(stored) });
    expect((await post(notification)).status).toBe(200);
    expect(enqueued).toHaveLength(1);
    const message = enqueued[0] as InboundChatMessage;
    expect(message).toMatchObject({
      channelKind: "email",
      sender: { id: expect.stringContaining("@") },
      attachments: [{ kind: "document", fileId: "s3:us-east-1:acme-inbound/mail/abc123", mimeType: "message/rfc822" }],
      email: { subject: expect.stringMatching(/\S/), threadId: expect.stringMatching(/^r/) },
    });
    expect(JSON.stringify(message)).not.toContain("victim@example.com");
  });
});
