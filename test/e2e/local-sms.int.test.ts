import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChannel, updateChannel } from "../../core/channels/manage";
import { twilioSignature } from "../../core/channels/sms/signature";
import { parseKeyring } from "../../core/crypto/secrets";
import { DomainError } from "../../core/errors";
import { createPoolDb } from "../../db/client";
import { channels, conversations, messages } from "../../db/schema";
import { LOCAL_DEMO_TWILIO, PROJECT_ROOT, startLocalStack, writeStackState, type LocalStack } from "../../scripts/local-stack";
import { asOperator } from "../../scripts/stack/cli";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * SMS end to end, as `npm start` runs it: the demo channel connected through the channel verb (the
 * fake Twilio's number then posts to the edge), the edge's signature check, the queue, the pool
 * replying through the Messages API with status callbacks, STOP, and `npm run chat -- --channel sms`.
 */
describe("SMS through Twilio, end to end", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let dataDir: string;
  let admin: ReturnType<typeof createPoolDb>;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "sms-stack-"));
    stack = await startLocalStack({
      dataDir,
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      demoSms: true,
      output: "quiet",
      poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
    });
    await writeStackState(dataDir, stack);
    admin = createPoolDb(database.adminUrl, { max: 1 });
  });
  afterAll(async () => {
    await admin?.close();
    await stack?.stop();
    await database?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const twilio = () => stack.twilio!;
  const channelId = () => stack.demo!.sms!.channelId;
  const inboundFrom = async (from: string) =>
    (
      await admin.db
        .select({ content: messages.content, createdAt: messages.createdAt })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(and(eq(messages.channelId, channelId()), eq(messages.direction, "inbound"), eq(conversations.externalKey, from)))
    )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((row) => row.content);

  it("connecting pointed the number's webhook at the edge, with the auth token sealed into it", async () => {
    const [number] = twilio().numbers();
    const [channel] = await admin.db.select().from(channels).where(eq(channels.id, channelId()));
    expect(number!.smsUrl).toMatch(new RegExp(`^${stack.edge.url}/webhooks/twilio/sms/[0-9a-f-]+\\.[0-9a-f-]+\\?s=`));
    expect(number!.smsUrl).not.toContain(LOCAL_DEMO_TWILIO.authToken);
    expect(channel!.config).toMatchObject({
      phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber,
      phoneNumberSid: number!.sid,
      statusCallbackUrl: number!.smsUrl,
    });
    expect(JSON.stringify(channel!.config)).not.toContain(LOCAL_DEMO_TWILIO.authToken);
  });

  it("answers a signed SMS with empty TwiML at once, replies through the Messages API and records the delivery", async () => {
    const answer = await twilio().text({ from: "+14155550201", to: LOCAL_DEMO_TWILIO.phoneNumber, body: "where is my order?" });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    const [reply] = await twilio().waitForSent("+14155550201", 1);
    expect(reply).toMatchObject({ from: LOCAL_DEMO_TWILIO.phoneNumber, statusCallback: twilio().numbers()[0]!.smsUrl });
    expect(reply!.body).toContain("where is my order?");
    await expect
      .poll(
        async () =>
          (await admin.db.select({ status: messages.deliveryStatus }).from(messages).where(eq(messages.providerMessageId, reply!.sid)))[0]
            ?.status,
        { timeout: 30_000, interval: 100 },
      )
      .toBe("delivered");
    await expect
      .poll(
        () =>
          twilio()
            .callbacks()
            .filter((callback) => callback.messageSid === reply!.sid),
        { timeout: 10_000, interval: 50 },
      )
      .toEqual([
        { messageSid: reply!.sid, status: "sent", answered: 200 },
        { messageSid: reply!.sid, status: "delivered", answered: 200 },
      ]);
  });

  it("refuses a missing, forged or re-addressed signature with 403 and queues nothing", async () => {
    const url = twilio().numbers()[0]!.smsUrl;
    const params = {
      MessageSid: `SM${"f".repeat(32)}`,
      AccountSid: LOCAL_DEMO_TWILIO.accountSid,
      From: "+14155550202",
      To: LOCAL_DEMO_TWILIO.phoneNumber,
      Body: "forged",
      NumMedia: "0",
    };
    const post = (target: string, signature?: string) =>
      fetch(target, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...(signature ? { "x-twilio-signature": signature } : {}) },
        body: new URLSearchParams(params).toString(),
      });
    const withoutSeal = url.split("?")[0]!;
    const answers = await Promise.all([
      post(url),
      post(url, await twilioSignature("0".repeat(32), url, Object.entries(params))),
      post(url, await twilioSignature(LOCAL_DEMO_TWILIO.authToken, url, Object.entries({ ...params, Body: "other" }))),
      post(withoutSeal, await twilioSignature(LOCAL_DEMO_TWILIO.authToken, withoutSeal, Object.entries(params))),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    }
    // The same number then texts for real: its one message is the only one stored.
    await twilio().text({ from: "+14155550202", to: LOCAL_DEMO_TWILIO.phoneNumber, body: "real" });
    await twilio().waitForSent("+14155550202", 1);
    expect(await inboundFrom("+14155550202")).toEqual(["real"]);
  });

  it("gives one reply to a replayed MessageSid", async () => {
    const first = await twilio().text({ from: "+14155550203", to: LOCAL_DEMO_TWILIO.phoneNumber, body: "once" });
    const again = await twilio().text({
      from: "+14155550203",
      to: LOCAL_DEMO_TWILIO.phoneNumber,
      body: "once",
      messageSid: first.messageSid,
    });
    expect([first.status, again.status]).toEqual([200, 200]);
    await twilio().text({ from: "+14155550203", to: LOCAL_DEMO_TWILIO.phoneNumber, body: "twice" });
    const sent = await twilio().waitForSent("+14155550203", 2);
    expect(sent.map((message) => message.body.includes("twice"))).toEqual([false, true]);
    expect(await inboundFrom("+14155550203")).toEqual(["once", "twice"]);
  });

  it("after STOP sends nothing, however the person writes, until START", async () => {
    const from = "+14155550204";
    const text = (body: string) => twilio().text({ from, to: LOCAL_DEMO_TWILIO.phoneNumber, body });
    await text("STOP");
    await text("hello?");
    await text("START");
    await text("and now?");
    const sent = await twilio().waitForSent(from, 1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toContain("and now?");
    expect(await inboundFrom(from)).toEqual(["STOP", "hello?", "START", "and now?"]);
  });

  it("refuses to connect a number with a wrong auth token or outside the account, leaving nothing behind", async () => {
    const services = {
      keyring: parseKeyring(stack.keys.SECRETS_KEYRING),
      channels: {
        signingKey: stack.keys.WEBHOOK_SIGNING_KEY,
        telegramApiBase: stack.telegramApiBase,
        whatsappApiBase: "http://127.0.0.1:9",
        twilioApiBase: twilio().apiBase,
        publicBaseUrl: stack.edge.url,
      },
    };
    const connect = (authToken: string, phoneNumber: string) =>
      asOperator(
        stack.demo!.tenantId,
        (ctx) =>
          connectChannel({
            ctx: { ...ctx, services },
            input: {
              kind: "sms",
              name: "Second number",
              agentId: stack.demo!.agentId,
              accountSid: LOCAL_DEMO_TWILIO.accountSid,
              authToken,
              settings: { phoneNumber },
            },
          }),
        database.adminUrl,
      );
    const before = (await admin.db.select().from(channels)).length;
    const wrongToken = await connect("f".repeat(32), LOCAL_DEMO_TWILIO.phoneNumber).catch((error: unknown) => error);
    expect(wrongToken).toBeInstanceOf(DomainError);
    expect(wrongToken).toMatchObject({
      code: "CHANNEL_PROVIDER_REFUSED",
      details: { provider: "Twilio answered 401 (20003): Authenticate" },
    });
    const elsewhere = await connect(LOCAL_DEMO_TWILIO.authToken, "+15005550999").catch((error: unknown) => error);
    expect(elsewhere).toMatchObject({
      code: "CHANNEL_PROVIDER_REFUSED",
      details: { provider: "+15005550999 is not a phone number of this Twilio account" },
    });
    expect((await admin.db.select().from(channels)).length).toBe(before);
    // Saving the demo channel again points the number at a fresh seal; the old URL stops working.
    const oldUrl = twilio().numbers()[0]!.smsUrl;
    await asOperator(
      stack.demo!.tenantId,
      (ctx) =>
        updateChannel({
          ctx: { ...ctx, services },
          input: { channelId: channelId(), accountSid: LOCAL_DEMO_TWILIO.accountSid, authToken: LOCAL_DEMO_TWILIO.authToken },
        }),
      database.adminUrl,
    );
    expect(twilio().numbers()[0]!.smsUrl).not.toBe(oldUrl);
  });

  it("npm run chat -- --channel sms talks to the agent through it", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(PROJECT_ROOT, "scripts/chat.ts"), "--channel", "sms", "--from", "+14155550777"],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, AGENT_STACK_DIR: dataDir },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end("do you ship to Lisbon?\n");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(output).toContain(`Chatting with the demo agent as SMS from +14155550777 to ${LOCAL_DEMO_TWILIO.phoneNumber}`);
    expect(output).toMatch(/agent> .*do you ship to Lisbon\?/);
    expect(code).toBe(0);
  });
});
