import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectChannel, updateChannel } from "../../core/channels/manage";
import { twilioSignature } from "../../core/channels/sms/signature";
import { parseKeyring } from "../../core/crypto/secrets";
import { DomainError } from "../../core/errors";
import { createPoolDb } from "../../db/client";
import { channels, conversations, messages, roles, tenants, usageRecords } from "../../db/schema";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai";
import { createApiKey } from "../../core/access/api-keys";
import { LOCAL_DEMO_TWILIO, startLocalStack, writeStackState, type LocalStack } from "../../scripts/local-stack";
import { asOperator } from "../../scripts/stack/cli";
import { runStackCli } from "../support/cli";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * SMS and voice end to end, as `npm start` runs them: the demo channels connected through the
 * channel verb (the fake Twilio's number then posts to the edge), the edge's signature check, the
 * queue, the pool replying through the Messages API with status callbacks, STOP, calls through
 * ConversationRelay and the call's Durable Object, `npm run chat -- --channel sms` and `npm run call`.
 * The pool's model is the OpenAI fake, whose streamed answers can be slowed to talk over them.
 */
describe("SMS and voice through Twilio, end to end", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let dataDir: string;
  let admin: ReturnType<typeof createPoolDb>;
  let openai: FakeOpenAI;

  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: "sk-voice" });
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "sms-stack-"));
    stack = await startLocalStack({
      dataDir,
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      demoTwilio: true,
      output: "quiet",
      poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn", OPENAI_API_KEY: "sk-voice", OPENAI_BASE_URL: openai.baseUrl },
    });
    await writeStackState(dataDir, stack);
    admin = createPoolDb(database.adminUrl, { max: 1 });
  });
  afterAll(async () => {
    await admin?.close();
    await stack?.stop();
    await database?.close();
    await openai?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const twilio = () => stack.twilio!;
  /** What the channel verbs need, pointed at this stack (as the edge gives them). */
  const verbServices = () => ({
    keyring: parseKeyring(stack.keys.SECRETS_KEYRING),
    channels: {
      signingKey: stack.keys.WEBHOOK_SIGNING_KEY,
      telegramApiBase: stack.telegramApiBase,
      whatsappApiBase: "http://127.0.0.1:9",
      twilioApiBase: twilio().apiBase,
      publicBaseUrl: stack.edge.url,
    },
  });
  const DEMO_VOICE_SETTINGS = {
    phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber,
    welcomeMessage: "Thanks for calling the demo shop. How can I help?",
    language: "en-US",
  };
  /** Saves the demo phone line's settings through the channel verb (which points the number's voice URL again). */
  const saveVoice = (settings: Record<string, unknown>) =>
    asOperator(
      stack.demo!.tenantId,
      (ctx) => updateChannel({ ctx: { ...ctx, services: verbServices() }, input: { channelId: voiceChannelId(), settings } }),
      database.adminUrl,
    );
  const channelId = () => stack.demo!.sms!.channelId;
  const voiceChannelId = () => stack.demo!.voice!.channelId;
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
    const services = verbServices();
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

  const callTurns = async (from: string) =>
    (
      await admin.db
        .select({
          direction: messages.direction,
          content: messages.content,
          status: messages.status,
          error: messages.error,
          createdAt: messages.createdAt,
        })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(and(eq(messages.channelId, voiceChannelId()), eq(conversations.externalKey, from)))
    ).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());

  it("answers a call with ConversationRelay and speaks each reply; the transcript is the conversation", async () => {
    const call = await twilio().call({ from: "+14155550301", to: LOCAL_DEMO_TWILIO.phoneNumber });
    expect(call.greeting).toBe("Thanks for calling the demo shop. How can I help?");
    expect(call.twiml).toContain('language="en-US"');
    call.say("where is my order?");
    expect(await call.nextReply()).toContain("where is my order?");
    call.say("and the invoice?");
    expect(await call.nextReply()).toContain("and the invoice?");
    await call.hangUp();
    await expect
      .poll(async () => (await callTurns("+14155550301")).map((turn) => [turn.direction, turn.status]), { timeout: 30_000, interval: 100 })
      .toEqual([
        ["inbound", "received"],
        ["outbound", "sent"],
        ["inbound", "received"],
        ["outbound", "sent"],
      ]);
    const turns = await callTurns("+14155550301");
    expect(turns[0]!.content).toBe("where is my order?");
  });

  it("refuses a forged call webhook and a relay without the call's token with 403", async () => {
    const voiceUrl = twilio().numbers()[0]!.voiceUrl;
    const forged = await fetch(voiceUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "bm9wZQ==" },
      body: new URLSearchParams({
        CallSid: `CA${"1".repeat(32)}`,
        AccountSid: LOCAL_DEMO_TWILIO.accountSid,
        From: "+14155550302",
        To: LOCAL_DEMO_TWILIO.phoneNumber,
      }).toString(),
    });
    expect(forged.status).toBe(403);
    const call = await twilio().call({ from: "+14155550302", to: LOCAL_DEMO_TWILIO.phoneNumber });
    const relay = new URL(/url="([^"]*)"/.exec(call.twiml)![1]!.replaceAll("&amp;", "&"));
    relay.searchParams.set("t", "forged");
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(relay.toString());
      socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      socket.once("open", () => {
        socket.close();
        resolve(101);
      });
    });
    expect(refused).toBe(403);
    const reply = await fetch(relay.toString().replace(/^ws/, "http").replace("?", "/reply?"), { method: "POST", body: "{}" });
    expect(reply.status).toBe(403);
    await call.hangUp();
  });

  it("records what the caller heard when they interrupt a reply, and cancels a turn they talked over", async () => {
    const from = "+14155550303";
    const call = await twilio().call({ from, to: LOCAL_DEMO_TWILIO.phoneNumber });
    call.say("tell me about shipping");
    await call.nextReply();
    call.interrupt("You asked");
    await expect.poll(async () => (await callTurns(from))[1]?.content, { timeout: 30_000, interval: 100 }).toBe("You asked");
    // Two prompts in a row: the first turn's reply comes after the second prompt and is refused.
    call.say("first question");
    call.say("second question");
    expect(await call.nextReply()).toContain("second question");
    await expect
      .poll(async () => (await callTurns(from)).filter((turn) => turn.status === "failed").map((turn) => turn.error), {
        timeout: 30_000,
        interval: 100,
      })
      .toEqual(["the caller spoke again before this reply"]);
    await call.hangUp();
  });

  it("speaks a reply as the model writes it; talking over it stops the model and keeps what the caller heard", async () => {
    const from = "+14155550306";
    const call = await twilio().call({ from, to: LOCAL_DEMO_TWILIO.phoneNumber });
    call.say("is the streaming quick?");
    // Unhurried: the whole reply arrives token by token before it is recorded.
    expect(await call.nextReply()).toBe("(gpt-4o-mini) You asked: is the streaming quick?");
    expect(openai.requests.at(-1)!.body.stream).toBe(true);

    openai.streamChunkDelay(150);
    const abandoned = openai.abandonedStreams;
    try {
      openai.queueReply("Shipping takes three to five working days at home and about a week abroad, tracked all the way to your door.");
      call.say("how long does shipping take?");
      await expect.poll(() => call.speaking(), { timeout: 30_000, interval: 20 }).toMatch(/^Shipping takes three/);
      call.interrupt("Shipping takes");
      await expect.poll(() => openai.abandonedStreams, { timeout: 30_000, interval: 50 }).toBe(abandoned + 1);
      await expect
        .poll(async () => (await callTurns(from)).slice(2).map((turn) => [turn.direction, turn.status, turn.content]), {
          timeout: 30_000,
          interval: 100,
        })
        .toEqual([
          ["inbound", "received", "how long does shipping take?"],
          ["outbound", "sent", "Shipping takes"],
        ]);
      const outcomes = await admin.db
        .select({ outcome: usageRecords.outcome })
        .from(usageRecords)
        .innerJoin(conversations, eq(conversations.id, usageRecords.conversationId))
        .where(eq(conversations.externalKey, from));
      expect(outcomes.map((row) => row.outcome).sort()).toEqual(["answered", "cancelled"]);
    } finally {
      openai.streamChunkDelay(0);
    }
    await call.hangUp();
  });

  it("answers a call with the plan's message once the tenant's plan no longer includes calls", async () => {
    const demo = eq(tenants.id, stack.demo!.tenantId);
    await admin.db.update(tenants).set({ plan: "free" }).where(demo);
    try {
      const call = await twilio().call({ from: "+14155550307", to: LOCAL_DEMO_TWILIO.phoneNumber });
      call.say("are you there?");
      expect(await call.nextReply()).toMatch(/^Sorry, we cannot answer new messages here right now/);
      await call.hangUp();
    } finally {
      await admin.db.update(tenants).set({ plan: "business" }).where(demo);
    }
  });

  it("a dropped call loses no words: the prompt is stored and its reply fails once, not retried", async () => {
    const from = "+14155550304";
    const call = await twilio().call({ from, to: LOCAL_DEMO_TWILIO.phoneNumber });
    call.say("are you still there?");
    await call.hangUp();
    await expect
      .poll(async () => (await callTurns(from)).map((turn) => [turn.direction, turn.status, turn.error]), {
        timeout: 30_000,
        interval: 100,
      })
      .toEqual([
        ["inbound", "received", null],
        ["outbound", "failed", "the call has ended"],
      ]);
    expect((await callTurns(from))[0]!.content).toBe("are you still there?");
  });

  it("pressing 0 hands the call to a person: the relay ends and Twilio dials the tenant's number", async () => {
    await saveVoice({ phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber, welcomeMessage: "Demo line.", transferTo: "+14155550999" });
    const call = await twilio().call({ from: "+14155550305", to: LOCAL_DEMO_TWILIO.phoneNumber });
    expect(call.greeting).toBe("Demo line.");
    call.dtmf("0");
    expect(await call.nextReply()).toContain("a person from our team");
    const ended = await call.ended();
    expect(ended.handoffData).toBe(JSON.stringify({ reason: "handoff" }));
    expect(ended.twiml).toContain("<Dial>+14155550999</Dial>");
    await saveVoice({
      phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber,
      welcomeMessage: "Thanks for calling the demo shop. How can I help?",
      language: "en-US",
    });
  });

  it("records a call only when the channel says so", async () => {
    const unrecorded = await twilio().call({ from: "+14155550306", to: LOCAL_DEMO_TWILIO.phoneNumber });
    unrecorded.say("hello");
    await unrecorded.nextReply();
    await unrecorded.hangUp();
    await saveVoice({ ...DEMO_VOICE_SETTINGS, recording: true });
    const recorded = await twilio().call({ from: "+14155550307", to: LOCAL_DEMO_TWILIO.phoneNumber });
    expect(recorded.twiml).not.toContain(LOCAL_DEMO_TWILIO.authToken);
    recorded.say("hello");
    await recorded.nextReply();
    await recorded.hangUp();
    await saveVoice(DEMO_VOICE_SETTINGS);
    expect(twilio().recordings()).toEqual([recorded.callSid]);
  });

  it("without ConversationRelay answers with <Gather> and <Say>, waiting in steps Twilio allows, and hands off with <Dial>", async () => {
    await saveVoice({ ...DEMO_VOICE_SETTINGS, conversationRelay: false, transferTo: "+14155550999" });
    try {
      const from = "+14155550308";
      const call = await twilio().gatherCall({ from, to: LOCAL_DEMO_TWILIO.phoneNumber });
      expect(call.greeting).toBe("Thanks for calling the demo shop. How can I help?");
      const first = await call.speak("where is my order?");
      expect(first.said).toContain("where is my order?");
      expect(first.twiml).toContain('<Gather input="speech"');
      const second = await call.speak("and the invoice?");
      expect(second.said).toContain("and the invoice?");
      const quiet = await call.silence();
      expect(quiet.said).toBe("Are you still there?");
      const handoff = await call.speak("/human");
      expect(handoff.said).toContain("a person from our team");
      expect(handoff.twiml).toContain("<Dial>+14155550999</Dial>");
      await expect
        .poll(async () => (await callTurns(from)).map((turn) => [turn.direction, turn.content.slice(0, 18)]), {
          timeout: 30_000,
          interval: 100,
        })
        .toEqual([
          ["inbound", "where is my order?"],
          ["outbound", expect.any(String)],
          ["inbound", "and the invoice?"],
          ["outbound", expect.any(String)],
          ["inbound", "/human"],
          ["outbound", expect.any(String)],
        ]);
    } finally {
      await saveVoice(DEMO_VOICE_SETTINGS);
    }
  });

  it("npm run call holds a text phone call with the demo agent through the relay", async () => {
    const { output, code } = await runStackCli("call.ts", ["--from", "+14155550778"], "what are your opening hours?\n", dataDir);
    expect(output).toContain(`Calling ${LOCAL_DEMO_TWILIO.phoneNumber} from +14155550778`);
    expect(output).toContain("agent> Thanks for calling the demo shop. How can I help?");
    expect(output).toMatch(/agent> .*what are your opening hours\?/);
    expect(code).toBe(0);
  });

  it("npm run chat -- --channel sms talks to the agent through it", async () => {
    const { output, code } = await runStackCli(
      "chat.ts",
      ["--channel", "sms", "--from", "+14155550777"],
      "do you ship to Lisbon?\n",
      dataDir,
    );
    expect(output).toContain(`Chatting with the demo agent as SMS from +14155550777 to ${LOCAL_DEMO_TWILIO.phoneNumber}`);
    expect(output).toMatch(/agent> .*do you ship to Lisbon\?/);
    expect(code).toBe(0);
  });
  // Last: it moves the demo number's messaging webhook to a new channel and removes it.
  it("connects, tests and removes an SMS number through the admin API, under workerd", async () => {
    const key = await asOperator(
      stack.demo!.tenantId,
      async (ctx) => {
        const [role] = await ctx.tx
          .select()
          .from(roles)
          .where(and(eq(roles.tenantId, stack.demo!.tenantId), eq(roles.name, "admin")));
        return createApiKey({ ctx, input: { name: "twilio e2e", roleId: role!.id } });
      },
      database.adminUrl,
    );
    const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
      fetch(`${stack.edge.url}${path}`, {
        method: init.method ?? "GET",
        headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
      });
    const created = await api("/v1/channels", {
      method: "POST",
      body: {
        kind: "sms",
        name: "Second SMS channel",
        agentId: stack.demo!.agentId,
        accountSid: LOCAL_DEMO_TWILIO.accountSid,
        authToken: LOCAL_DEMO_TWILIO.authToken,
        settings: { phoneNumber: LOCAL_DEMO_TWILIO.phoneNumber },
      },
    });
    expect(created.status).toBe(201);
    const channel = (await created.json()) as { id: string; address: string; settings: Record<string, unknown> };
    expect(JSON.stringify(channel)).not.toContain(LOCAL_DEMO_TWILIO.authToken);
    expect(twilio().numbers()[0]!.smsUrl).toContain(`/webhooks/twilio/sms/${channel.address}?s=`);
    const tested = (await (await api(`/v1/channels/${channel.id}/test`, { method: "POST" })).json()) as { ok: boolean; checks: unknown[] };
    expect(tested).toEqual({
      ok: true,
      checks: [
        { name: "phone number", ok: true, detail: `${LOCAL_DEMO_TWILIO.phoneNumber} (Fake Twilio number)` },
        { name: "messaging webhook", ok: true, detail: "incoming messages are sent to this channel" },
      ],
    });
    const removed = await api(`/v1/channels/${channel.id}`, { method: "DELETE" });
    expect(((await removed.json()) as { webhookRemoved: boolean }).webhookRemoved).toBe(true);
    expect(twilio().numbers()[0]!.smsUrl).toBe("");
  });
});
