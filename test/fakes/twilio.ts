import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import { twilioSignature } from "../../core/channels/sms/signature";
import { sentWaiter } from "./sent-waiter";

export interface SentSms {
  sid: string;
  from: string;
  to: string;
  body: string;
  statusCallback?: string;
  at: number;
}

export interface FakeTwilioNumber {
  sid: string;
  phoneNumber: string;
  /** Where the number's incoming messages go, as connecting a channel set it. */
  smsUrl: string;
  /** Where the number's incoming calls go. */
  voiceUrl: string;
}

export interface InboundSms {
  from: string;
  to: string;
  body?: string;
  /** MMS: media served by the fake (and fetched by the pool with the account's credentials). */
  media?: Array<{ bytes: Buffer; contentType: string }>;
  /** A replay: the same MessageSid as an earlier request. */
  messageSid?: string;
}

export interface FakeTwilio {
  /** As `TWILIO_API_BASE` takes it: `http://127.0.0.1:PORT`. */
  apiBase: string;
  accountSid: string;
  authToken: string;
  numbers(): FakeTwilioNumber[];
  /** Messages sent through the Messages API, to one number or all. */
  sent(to?: string): SentSms[];
  waitForSent(to: string, count: number, timeoutMs?: number): Promise<SentSms[]>;
  /**
   * A person texts a number: posts the signed webhook Twilio would to the number's `SmsUrl`, as
   * Twilio does (form-encoded, `X-Twilio-Signature` over the URL and the sorted fields). With
   * Advanced Opt-Out, STOP and START change whether the number may text the person, as Twilio's do.
   */
  text(message: InboundSms): Promise<{ status: number; body: string; messageSid: string }>;
  /** A person calls a number: Twilio's call webhook, then its ConversationRelay WebSocket to the URL the TwiML named. */
  call(options: { from: string; to: string }): Promise<RelayCall>;
  /** A call answered with `<Gather>` (no ConversationRelay): speech is posted to the gather's action, redirects followed. */
  gatherCall(options: { from: string; to: string }): Promise<GatherCall>;
  /** Stores a media file as an incoming MMS would; answers its URL on Twilio's host (`https://api.twilio.com/...`). */
  addMedia(bytes: Buffer, contentType: string): string;
  /** Calls whose recording was started (`POST /Calls/<sid>/Recordings.json`). */
  recordings(): string[];
  /** Status callbacks posted for sent messages, with the edge's answers. */
  callbacks(): Array<{ messageSid: string; status: string; answered: number }>;
  /** The next `count` sends fail with this Twilio error: 20429 (429 Too Many Requests) or 21211 (invalid To). */
  failNextSends(count: number, code: 20429 | 21211): void;
  close(): Promise<void>;
}

const OPT_OUT = new Set(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]);
const OPT_IN = new Set(["START", "UNSTOP", "YES"]);
const ERRORS: Record<number, { status: number; message: string }> = {
  20003: { status: 401, message: "Authenticate" },
  20404: { status: 404, message: "The requested resource was not found" },
  20429: { status: 429, message: "Too Many Requests" },
  21211: { status: 400, message: "The 'To' number is not a valid phone number." },
  21606: {
    status: 400,
    message: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account.",
  },
  21610: { status: 400, message: "Attempt to send to unsubscribed recipient" },
  21617: { status: 400, message: "The concatenated message body exceeds the 1600 character limit." },
};
const sid = (prefix: string) => `${prefix}${randomBytes(16).toString("hex")}`;

/**
 * A loopback fake of Twilio's REST API (2010-04-01) for one account: `IncomingPhoneNumbers` (list
 * by `PhoneNumber`, update `SmsUrl`), `Messages` (create, with the 1,600-character limit,
 * unsubscribed recipients after STOP, and status callbacks `sent` then `delivered` signed like
 * Twilio's), MMS media downloads, HTTP Basic auth with the account SID and auth token, and errors
 * in Twilio's shape (`{ code, message, more_info, status }`). It also plays the person texting the
 * number (`text`), posting signed webhooks to the `SmsUrl` that connecting the channel set.
 */
export async function startFakeTwilio(
  options: { accountSid?: string; authToken?: string; phoneNumbers?: string[]; port?: number } = {},
): Promise<FakeTwilio> {
  const accountSid = options.accountSid ?? `AC${randomBytes(16).toString("hex")}`;
  const authToken = options.authToken ?? randomBytes(16).toString("hex");
  const numbers: FakeTwilioNumber[] = (options.phoneNumbers ?? ["+15005550006"]).map((phoneNumber) => ({
    sid: sid("PN"),
    phoneNumber,
    smsUrl: "",
    voiceUrl: "",
  }));
  const sentMessages: SentSms[] = [];
  const callbackLog: Array<{ messageSid: string; status: string; answered: number }> = [];
  const media = new Map<string, { bytes: Buffer; contentType: string }>();
  const optedOut = new Set<string>();
  const recorded: string[] = [];
  const waiter = sentWaiter();
  let failures = { count: 0, code: 20429 };
  const pending = new Set<Promise<unknown>>();

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const fail = (code: number) => {
      const error = ERRORS[code]!;
      return json(error.status, {
        code,
        message: error.message,
        more_info: `https://www.twilio.com/docs/errors/${code}`,
        status: error.status,
      });
    };
    if (url.pathname === "/_fake/sent" && request.method === "GET") {
      // For the chat CLI (no credentials): what was sent to one number, from `offset` of the whole log on.
      const to = url.searchParams.get("to");
      const offset = Number(url.searchParams.get("offset") ?? 0) || 0;
      return json(200, { result: sentMessages.slice(offset).filter((m) => !to || m.to === to), next: sentMessages.length });
    }
    if (url.pathname === "/_fake/numbers" && request.method === "GET") {
      // For the call CLI: where each number's calls go.
      return json(200, { numbers: numbers.map((n) => ({ phoneNumber: n.phoneNumber, voiceUrl: n.voiceUrl })) });
    }
    if (url.pathname === "/_fake/text" && request.method === "POST") {
      // For the chat CLI: the person texts the number.
      const message = JSON.parse((await readBody(request)).toString("utf8")) as InboundSms;
      return json(200, await text(message));
    }
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
    if (request.headers.authorization !== expected) return fail(20003);
    const prefix = `/2010-04-01/Accounts/${accountSid}`;
    if (!url.pathname.startsWith(`${prefix}/`)) return fail(20404);
    const path = url.pathname.slice(prefix.length);

    const stored = /^\/Messages\/((?:MM|SM)[0-9a-f]{32})\/Media\/(ME[0-9a-f]{32})$/.exec(path);
    if (stored && request.method === "GET") {
      const item = media.get(stored[2]!);
      if (!item) return fail(20404);
      return response.writeHead(200, { "content-type": item.contentType, "content-length": item.bytes.length }).end(item.bytes);
    }
    const recording = /^\/Calls\/(CA[0-9a-f]{32})\/Recordings\.json$/.exec(path);
    if (recording && request.method === "POST") {
      recorded.push(recording[1]!);
      return json(201, { sid: sid("RE"), call_sid: recording[1], status: "in-progress", channels: 2, source: "StartCallRecordingAPI" });
    }
    if (path === "/IncomingPhoneNumbers.json" && request.method === "GET") {
      const wanted = url.searchParams.get("PhoneNumber");
      return json(200, {
        incoming_phone_numbers: numbers.filter((n) => !wanted || n.phoneNumber === wanted).map(numberJson),
        page: 0,
        page_size: 50,
      });
    }
    const update = /^\/IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/.exec(path);
    if (update && request.method === "POST") {
      const number = numbers.find((n) => n.sid === update[1]);
      if (!number) return fail(20404);
      const form = new URLSearchParams((await readBody(request)).toString("utf8"));
      if (form.has("SmsUrl")) number.smsUrl = form.get("SmsUrl") ?? "";
      if (form.has("VoiceUrl")) number.voiceUrl = form.get("VoiceUrl") ?? "";
      return json(200, numberJson(number));
    }
    if (path === "/Messages.json" && request.method === "POST") {
      const form = new URLSearchParams((await readBody(request)).toString("utf8"));
      const from = form.get("From") ?? "";
      const to = form.get("To") ?? "";
      const body = form.get("Body") ?? "";
      if (!numbers.some((n) => n.phoneNumber === from)) return fail(21606);
      if (!/^\+[1-9]\d{7,14}$/.test(to)) return fail(21211);
      if (body.length > 1600) return fail(21617);
      if (optedOut.has(`${from}>${to}`)) return fail(21610);
      if (failures.count > 0) {
        failures.count--;
        return fail(failures.code);
      }
      const message: SentSms = { sid: sid("SM"), from, to, body, at: Date.now() };
      const statusCallback = form.get("StatusCallback");
      if (statusCallback) message.statusCallback = statusCallback;
      sentMessages.push(message);
      waiter.sent();
      if (statusCallback) track(reportStatuses(message, statusCallback));
      return json(201, {
        sid: message.sid,
        account_sid: accountSid,
        from,
        to,
        body,
        status: "queued",
        num_segments: String(Math.ceil(body.length / 153) || 1),
        direction: "outbound-api",
        date_created: new Date().toUTCString(),
        uri: `${prefix}/Messages/${message.sid}.json`,
      });
    }
    return fail(20404);
  });

  const numberJson = (n: FakeTwilioNumber) => ({
    sid: n.sid,
    account_sid: accountSid,
    phone_number: n.phoneNumber,
    friendly_name: "Fake Twilio number",
    sms_url: n.smsUrl,
    sms_method: "POST",
    voice_url: n.voiceUrl,
    voice_method: "POST",
    capabilities: { sms: true, mms: true, voice: true },
  });

  function track(work: Promise<unknown>) {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }

  const post = (target: string, params: Record<string, string>) => signedPost(authToken, target, params);

  async function reportStatuses(message: SentSms, target: string) {
    for (const status of ["sent", "delivered"]) {
      const answer = await post(target, {
        MessageSid: message.sid,
        SmsSid: message.sid,
        AccountSid: accountSid,
        From: message.from,
        To: message.to,
        MessageStatus: status,
        SmsStatus: status,
        ApiVersion: "2010-04-01",
      }).catch(() => ({ status: 0, body: "" }));
      callbackLog.push({ messageSid: message.sid, status, answered: answer.status });
    }
  }

  async function text(message: InboundSms): Promise<{ status: number; body: string; messageSid: string }> {
    const number = numbers.find((n) => n.phoneNumber === message.to);
    if (!number?.smsUrl) throw new Error(`fake Twilio: ${message.to} has no SmsUrl`);
    const word = (message.body ?? "").trim().toUpperCase();
    if (OPT_OUT.has(word)) optedOut.add(`${message.to}>${message.from}`);
    if (OPT_IN.has(word)) optedOut.delete(`${message.to}>${message.from}`);
    const messageSid = message.messageSid ?? sid(message.media?.length ? "MM" : "SM");
    const params: Record<string, string> = {
      ToCountry: "US",
      SmsMessageSid: messageSid,
      NumMedia: String(message.media?.length ?? 0),
      SmsSid: messageSid,
      SmsStatus: "received",
      Body: message.body ?? "",
      To: message.to,
      NumSegments: "1",
      MessageSid: messageSid,
      AccountSid: accountSid,
      From: message.from,
      ApiVersion: "2010-04-01",
    };
    for (const [index, item] of (message.media ?? []).entries()) {
      params[`MediaUrl${index}`] = addMedia(item.bytes, item.contentType, messageSid);
      params[`MediaContentType${index}`] = item.contentType;
    }
    return { ...(await post(number.smsUrl, params)), messageSid };
  }

  function addMedia(bytes: Buffer, contentType: string, messageSid = sid("MM")): string {
    const mediaSid = sid("ME");
    media.set(mediaSid, { bytes, contentType });
    // Twilio's own URL: the pool moves it onto TWILIO_API_BASE, and fetches nothing else.
    return `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Messages/${messageSid}/Media/${mediaSid}`;
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sent = (to?: string) => sentMessages.filter((message) => to === undefined || message.to === to);

  return {
    apiBase: base,
    accountSid,
    authToken,
    numbers: () => numbers.map((n) => ({ ...n })),
    sent,
    waitForSent: (to, count, timeoutMs = 30_000) =>
      waiter.waitFor(
        () => sent(to),
        count,
        timeoutMs,
        (got) => `fake Twilio: expected ${count} message(s) to ${to}, got ${got}`,
      ),
    text,
    gatherCall: ({ from, to }) => {
      const number = numbers.find((n) => n.phoneNumber === to);
      if (!number?.voiceUrl) throw new Error(`fake Twilio: ${to} has no VoiceUrl`);
      return placeGatherCall({ voiceUrl: number.voiceUrl, accountSid, authToken, from, to });
    },
    call: ({ from, to }) => {
      const number = numbers.find((n) => n.phoneNumber === to);
      if (!number?.voiceUrl) throw new Error(`fake Twilio: ${to} has no VoiceUrl`);
      return placeCall({ voiceUrl: number.voiceUrl, accountSid, authToken, from, to });
    },
    addMedia: (bytes, contentType) => addMedia(bytes, contentType),
    callbacks: () => [...callbackLog],
    recordings: () => [...recorded],
    failNextSends(count, code) {
      failures = { count, code };
    },
    async close() {
      await Promise.allSettled([...pending]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Who calls which number, and the number's voice webhook with the account that signs it. */
interface CallOptions {
  voiceUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
  to: string;
}

/** A new call's SID and the fields Twilio posts with each of its requests. */
function newCall(options: CallOptions) {
  const callSid = sid("CA");
  const params = {
    CallSid: callSid,
    AccountSid: options.accountSid,
    From: options.from,
    To: options.to,
    CallStatus: "in-progress",
    Direction: "inbound",
    ApiVersion: "2010-04-01",
  };
  return { callSid, params };
}

/** A call in progress, as Twilio's side of ConversationRelay sees it. */
export interface RelayCall {
  callSid: string;
  /** The TwiML that answered the call. */
  twiml: string;
  /** The `welcomeGreeting` Twilio would speak. */
  greeting: string;
  /** A final prompt: what the caller said, as speech-to-text gives it. */
  say(text: string): void;
  /** The caller talked over the reply being spoken, having heard this much of it. */
  interrupt(heard: string): void;
  dtmf(digit: string): void;
  /** The next `text` message to speak (its tokens up to `last`), in order. */
  nextReply(timeoutMs?: number): Promise<string>;
  /** The tokens of the reply being spoken so far (before its `last`). */
  speaking(): string;
  /** Resolves on the next `text` message (a reply's first token, when asked before the prompt). */
  nextToken(timeoutMs?: number): Promise<void>;
  /** Resolves when we end the relay (`end`): the TwiML the `<Connect action>` answered. */
  ended(): Promise<{ handoffData?: string; twiml: string }>;
  /** The caller hangs up: the WebSocket closes. */
  hangUp(): Promise<void>;
}

/**
 * Twilio's side of a call: posts the signed call webhook, reads the `<ConversationRelay>` URL
 * from the TwiML, opens the WebSocket and sends `setup`, then `prompt`, `interrupt` and `dtmf` as
 * Twilio documents them. When we send `end`, it posts the `<Connect action>` URL (signed) with the
 * `HandoffData`, as Twilio does. Used by the fake and by `npm run call`.
 */
export async function placeCall(options: CallOptions): Promise<RelayCall> {
  const { callSid, params } = newCall(options);
  const answered = await signedPost(options.authToken, options.voiceUrl, params);
  if (answered.status !== 200) throw new Error(`the call webhook answered ${answered.status}: ${answered.body}`);
  const attribute = (name: string) => unescapeXml(new RegExp(`<ConversationRelay[^>]* ${name}="([^"]*)"`).exec(answered.body)?.[1] ?? "");
  const relayUrl = attribute("url");
  const action = unescapeXml(/<Connect action="([^"]*)"/.exec(answered.body)?.[1] ?? "");
  if (!relayUrl) throw new Error(`the call was not connected to a relay: ${answered.body}`);
  const socket = new WebSocket(relayUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`the relay answered ${response.statusCode}`)));
  });
  const replies: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  let partial = "";
  let tokenWaiters: Array<() => void> = [];
  let endResolve: (value: { handoffData?: string; twiml: string }) => void = () => {};
  const endPromise = new Promise<{ handoffData?: string; twiml: string }>((resolve) => (endResolve = resolve));
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { type: string; token?: string; last?: boolean; handoffData?: string };
    if (message.type === "text") {
      partial += message.token ?? "";
      for (const wake of tokenWaiters) wake();
      tokenWaiters = [];
      if (message.last !== false) {
        const waiter = waiting.shift();
        if (waiter) waiter(partial);
        else replies.push(partial);
        partial = "";
      }
    }
    if (message.type === "end") {
      socket.close();
      void signedPost(options.authToken, action, {
        ...params,
        CallStatus: "in-progress",
        SessionStatus: "ended",
        ...(message.handoffData ? { HandoffData: message.handoffData } : {}),
      }).then((after) => endResolve({ ...(message.handoffData ? { handoffData: message.handoffData } : {}), twiml: after.body }));
    }
  });
  const send = (message: Record<string, unknown>) => socket.send(JSON.stringify(message));
  send({
    type: "setup",
    sessionId: sid("VX"),
    callSid,
    accountSid: options.accountSid,
    from: options.from,
    to: options.to,
    direction: "inbound",
    customParameters: { caller: options.from },
  });
  return {
    callSid,
    twiml: answered.body,
    greeting: attribute("welcomeGreeting"),
    say: (text) => send({ type: "prompt", voicePrompt: text, lang: "en-US", last: true }),
    interrupt: (heard) => send({ type: "interrupt", utteranceUntilInterrupt: heard, durationUntilInterruptMs: 1200 }),
    dtmf: (digit) => send({ type: "dtmf", digit }),
    nextReply(timeoutMs = 30_000) {
      const ready = replies.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fake Twilio: no reply on call ${callSid} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((text) => {
          clearTimeout(timer);
          resolve(text);
        });
      });
    },
    speaking: () => partial,
    nextToken(timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fake Twilio: no token on call ${callSid} within ${timeoutMs} ms`)), timeoutMs);
        tokenWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    ended: () => endPromise,
    hangUp: () =>
      new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        socket.close();
      }),
  };
}

async function signedPost(authToken: string, target: string, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const signature = await twilioSignature(authToken, target, Object.entries(params));
  const response = await fetch(target, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, body: await response.text() };
}

const unescapeXml = (value: string) =>
  value.replace(/&(lt|gt|amp|quot|apos);/g, (_, name: string) => ({ lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" })[name]!);

/** A call answered with `<Gather>` and `<Say>`, as Twilio runs one. */
export interface GatherCall {
  callSid: string;
  /** What the first `<Say>` said. */
  greeting: string;
  /** The caller speaks: Twilio posts `SpeechResult` to the gather's action and follows redirects until something is said. */
  speak(text: string): Promise<{ said: string; twiml: string; hops: number }>;
  /** The caller says nothing: Twilio follows the `<Redirect>` after the gather. */
  silence(): Promise<{ said: string; twiml: string }>;
}

export async function placeGatherCall(options: CallOptions): Promise<GatherCall> {
  const { callSid, params } = newCall(options);
  const said = (twiml: string) => [...twiml.matchAll(/<Say[^>]*>([^<]*)<\/Say>/g)].map((match) => unescapeXml(match[1]!)).join(" ");
  const gatherAction = (twiml: string) => unescapeXml(/<Gather [^>]*action="([^"]*)"/.exec(twiml)?.[1] ?? "");
  const redirect = (twiml: string) => unescapeXml(/<Redirect[^>]*>([^<]*)<\/Redirect>/.exec(twiml)?.[1] ?? "");
  let current = await signedPost(options.authToken, options.voiceUrl, params);
  if (current.status !== 200) throw new Error(`the call webhook answered ${current.status}: ${current.body}`);
  const greeting = said(current.body);
  return {
    callSid,
    greeting,
    async speak(text) {
      const action = gatherAction(current.body);
      if (!action) throw new Error(`fake Twilio: nothing is listening: ${current.body}`);
      current = await signedPost(options.authToken, action, { ...params, SpeechResult: text, Confidence: "0.92" });
      let hops = 0;
      // Twilio follows redirects (each a signed POST) until the TwiML says something.
      while (!said(current.body) && redirect(current.body) && hops < 30) {
        current = await signedPost(options.authToken, redirect(current.body), params);
        hops++;
      }
      return { said: said(current.body), twiml: current.body, hops };
    },
    async silence() {
      const next = redirect(current.body);
      if (!next) throw new Error(`fake Twilio: no redirect after the gather: ${current.body}`);
      current = await signedPost(options.authToken, next, params);
      return { said: said(current.body), twiml: current.body };
    },
  };
}
