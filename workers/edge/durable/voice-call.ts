import { DurableObject } from "cloudflare:workers";
import { parseChannelAddress, type ChannelAddress } from "../../../core/channels/address";
import { TwilioRest } from "../../../core/channels/sms/twilio-api";
import { RELAY_HEADERS, relayMessage, unspokenRest } from "../../../core/channels/voice/relay";
import type { Logger } from "../../../core/observability/log";
import { deliveryStatusMessage, inboundChatMessage } from "../../../core/queue/builders";
import type { InboundQueue } from "../../../core/queue/sqs";
import { servicesLoader } from "../app";
import type { Env } from "../env";

const TIME_LIMIT_TEXT = "We have reached the time limit for this call. Thank you for calling, goodbye.";

interface Turn {
  /** The queue message's provider id: `<CallSid>:<n>`. */
  id: string;
  /**
   * waiting: no word of the reply yet; streaming: its tokens are being spoken; spoken: the whole
   * reply was sent; cancelled: the caller spoke again before any of it (refused from then on);
   * interrupted: the caller spoke over it while it streamed (the pool's model call is stopped, and
   * the reply is recorded as what was heard when it arrives).
   */
  state: "waiting" | "streaming" | "spoken" | "cancelled" | "interrupted";
  /** The tokens sent to Twilio so far. */
  streamed: string;
  /** What the caller heard of an interrupted reply (Twilio's `utteranceUntilInterrupt`). */
  heard?: string;
  /** The id the reply is recorded under once spoken (`voice:<CallSid>:<n>`). */
  messageId?: string;
}

/** What the pool posts: a reply's tokens as the model writes them (core/channels/reply-stream.ts), or the whole reply once recorded. */
interface PoolPost {
  turn?: unknown;
  tokens?: unknown;
  text?: unknown;
  handoff?: unknown;
}

/**
 * One phone call (Twilio ConversationRelay), as a Durable Object named by the channel address and
 * the call SID: it holds the relay WebSocket for the call's length. Each final `prompt` goes to
 * the inbound queue as the caller's message (`<CallSid>:<n>`, in the call's order); the pool's
 * reply comes back as `POST …/reply` and is sent to Twilio as text to speak (a handoff then ends
 * the relay, so `<Connect action>` transfers the call). While the model writes, its tokens come as
 * `POST …/reply {turn, tokens}` and are spoken at once; the whole reply then only completes them.
 * The caller talking again before a reply came cancels that turn (its reply is refused and
 * recorded as not spoken); talking over a reply being streamed answers the pool's next tokens
 * with 409, which stops its model call; an `interrupt` of a reply being spoken is queued as a
 * delivery status carrying what was heard, so the conversation keeps that. A dropped socket ends
 * the call: what was said is already queued, and later replies are refused (410) and recorded as
 * failed, so nothing is lost or retried forever. The alarm ends a call at its length limit.
 */
export class VoiceCall extends DurableObject<Env> {
  #socket: WebSocket | undefined;
  #address: ChannelAddress | undefined;
  #callSid = "";
  #replyUrl = "";
  #caller = "";
  #ended = false;
  #recordWith: string | undefined;
  readonly #turns: Turn[] = [];
  /** Without ConversationRelay: replies kept for the wait step, and the waits for them. */
  readonly #kept = new Map<string, { text: string; handoff: boolean }>();
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #services = servicesLoader();

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return this.#open(request);
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/wait") return this.#waitFor(request);
    if (request.method !== "POST") return Response.json({ error: "not_found" }, { status: 404 });
    const body = (await request.json().catch(() => ({}))) as PoolPost;
    const gathered = url.searchParams.get("g") === "1";
    // `<Say>` speaks whole replies only: a `<Gather>` call takes no tokens.
    if (typeof body.tokens === "string") return gathered ? Response.json({ streaming: false }) : this.#stream(body.turn, body.tokens);
    return gathered ? this.#keep(body) : this.#reply(body);
  }

  override async alarm(): Promise<void> {
    if (!this.#socket || this.#ended) return;
    this.#send({ type: "text", token: TIME_LIMIT_TEXT, last: true });
    this.#send({ type: "end", handoffData: JSON.stringify({ reason: "time_limit" }) });
    this.#ended = true;
  }

  #open(request: Request): Response {
    const address = parseChannelAddress(request.headers.get(RELAY_HEADERS.address) ?? "");
    if (!address || this.#socket) return Response.json({ error: "conflict" }, { status: 409 });
    this.#address = address;
    this.#callSid = request.headers.get(RELAY_HEADERS.callSid) ?? "";
    this.#replyUrl = request.headers.get(RELAY_HEADERS.replyUrl) ?? "";
    this.#recordWith = request.headers.get(RELAY_HEADERS.recordWith) ?? undefined;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    server.accept();
    this.#socket = server;
    server.addEventListener("message", (event) => void this.#onMessage(event.data));
    server.addEventListener("close", (event) => {
      // Completes the closing handshake Twilio (or the caller's hang-up) started.
      try {
        server.close(event.code === 1005 ? 1000 : event.code, event.reason);
      } catch {
        // already closed
      }
      this.#close();
    });
    server.addEventListener("error", () => this.#close());
    const minutes = Number(request.headers.get(RELAY_HEADERS.maxMinutes) ?? "");
    if (Number.isInteger(minutes) && minutes > 0) void this.ctx.storage.setAlarm(Date.now() + minutes * 60_000);
    return new Response(null, { status: 101, webSocket: client });
  }

  async #onMessage(data: string | ArrayBuffer): Promise<void> {
    const logger = this.#logger();
    let parsed: ReturnType<typeof relayMessage.safeParse>;
    try {
      parsed = relayMessage.safeParse(JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data)));
    } catch {
      logger?.log("warn", "voice.bad_message", { callSid: this.#callSid });
      return;
    }
    if (!parsed.success) {
      logger?.log("debug", "voice.ignored_message", { callSid: this.#callSid });
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case "setup":
        this.#caller = message.customParameters?.caller ?? message.from;
        if (this.#recordWith && message.accountSid) await this.#record(message.accountSid, this.#recordWith);
        return;
      case "prompt":
        if (message.last === false || !message.voicePrompt.trim()) return;
        return this.#prompt(message.voicePrompt, message.lang);
      case "dtmf":
        // 0 asks for a person, as phone menus do; other keys reach the agent as words.
        return this.#prompt(message.digit === "0" ? "/human" : `[keypad: ${message.digit}]`);
      case "interrupt":
        return this.#interrupted(message.utteranceUntilInterrupt);
      case "error":
        logger?.log("warn", "voice.relay_error", { callSid: this.#callSid, description: message.description });
        return;
    }
  }

  /** Recording, when the tenant turned it on: asked of Twilio once the call is connected; a refusal is logged, the call goes on. */
  async #record(accountSid: string, authToken: string): Promise<void> {
    this.#recordWith = undefined;
    const apiBase = this.#services(this.env)?.config.TWILIO_API_BASE;
    await new TwilioRest(apiBase, { accountSid, authToken })
      .startRecording(this.#callSid)
      .then(() => this.#logger()?.log("info", "voice.recording_started", { callSid: this.#callSid }))
      .catch((error: unknown) =>
        this.#logger()?.log("warn", "voice.recording_refused", {
          callSid: this.#callSid,
          reason: error instanceof Error ? error.message : "unknown",
        }),
      );
  }

  /** The caller's words become a queued message; a turn still waiting for its reply is cancelled. */
  async #prompt(text: string, language?: string): Promise<void> {
    const address = this.#address;
    const queue = this.#queue();
    if (!address || !queue || !this.#caller) return;
    for (const turn of this.#turns) {
      if (turn.state === "waiting") turn.state = "cancelled";
      if (turn.state === "streaming") this.#interrupt(turn, turn.streamed);
    }
    const turn: Turn = { id: `${this.#callSid}:${this.#turns.length + 1}`, state: "waiting", streamed: "" };
    this.#turns.push(turn);
    const now = new Date();
    try {
      await queue.enqueue(
        inboundChatMessage(
          {
            tenantId: address.tenantId,
            channelId: address.channelId,
            channelKind: "voice",
            conversationKey: this.#caller,
            providerMessageId: turn.id,
            receivedAt: now,
          },
          {
            text,
            sender: { id: this.#caller, ...(language ? { languageCode: language } : {}) },
            sentAt: now.toISOString(),
            replyUrl: this.#replyUrl,
          },
        ),
      );
    } catch {
      // The queue is down: say so rather than leave the caller in silence (Twilio does not retry a prompt).
      this.#logger()?.log("error", "voice.enqueue_failed", { callSid: this.#callSid });
      turn.state = "cancelled";
      this.#send({ type: "text", token: "Sorry, I could not catch that. Could you say it again?", last: true });
    }
  }

  /**
   * The caller talked over a reply: what they heard of it is recorded in place of the written
   * reply, now for a reply already recorded, or when it arrives for one still being streamed.
   */
  async #interrupted(heard: string): Promise<void> {
    const latest = [...this.#turns].reverse().find((turn) => turn.state === "spoken" || turn.state === "streaming");
    if (latest?.state === "streaming") return this.#interrupt(latest, heard);
    if (latest?.messageId) await this.#recordHeard(latest.messageId, heard);
  }

  #interrupt(turn: Turn, heard: string): void {
    turn.state = "interrupted";
    turn.heard = heard;
  }

  async #recordHeard(messageId: string, heard: string): Promise<void> {
    const address = this.#address;
    const queue = this.#queue();
    if (!address || !queue) return;
    const now = new Date();
    await queue
      .enqueue(
        deliveryStatusMessage(
          {
            tenantId: address.tenantId,
            channelId: address.channelId,
            channelKind: "voice",
            conversationKey: this.#caller,
            providerMessageId: `interrupt:${messageId}`,
            receivedAt: now,
          },
          { outboundProviderMessageId: messageId, status: "delivered", spoken: heard, at: now.toISOString() },
        ),
      )
      .catch(() => this.#logger()?.log("warn", "voice.interrupt_not_recorded", { callSid: this.#callSid }));
  }

  /** A turn the pool may still speak into, or the answer refusing it (the call is over, the caller spoke again). */
  #speakable(turnId: unknown): Turn | Response {
    const turn = this.#turns.find((candidate) => candidate.id === turnId);
    if (!this.#socket || this.#ended) return Response.json({ error: "the call has ended" }, { status: 410 });
    if (!turn) return Response.json({ error: "no such turn in this call" }, { status: 410 });
    if (turn.state === "cancelled") return Response.json({ error: "the caller spoke again before this reply" }, { status: 409 });
    return turn;
  }

  /** Tokens of a reply as the model writes them, spoken at once; 409 once the caller has spoken over it. */
  #stream(turnId: unknown, tokens: string): Response {
    const turn = this.#speakable(turnId);
    if (turn instanceof Response) return turn;
    if (turn.state === "interrupted") return Response.json({ error: "the caller interrupted this reply" }, { status: 409 });
    // A late request after the whole reply: nothing more to say.
    if (turn.state === "spoken") return Response.json({ streaming: false });
    turn.state = "streaming";
    turn.streamed += tokens;
    this.#send({ type: "text", token: tokens, last: false });
    return Response.json({ streaming: true });
  }

  /** The pool's whole reply for a turn: spoken now (what its tokens did not say yet), or refused when the turn was cancelled or the call is over. */
  async #reply(body: PoolPost): Promise<Response> {
    if (typeof body.text !== "string") return Response.json({ error: "a reply needs its text" }, { status: 400 });
    const turn = this.#speakable(body.turn);
    if (turn instanceof Response) return turn;
    if (turn.state === "spoken") return Response.json({ messageId: turn.messageId });
    const interrupted = turn.state === "interrupted";
    turn.messageId = `voice:${turn.id}`;
    if (interrupted) {
      // Queued before the pool records the reply as sent; the status follows it in the conversation's order.
      await this.#recordHeard(turn.messageId, turn.heard ?? turn.streamed);
    } else {
      this.#send({ type: "text", token: unspokenRest(turn.streamed, body.text), last: true });
    }
    turn.state = "spoken";
    if (body.handoff === true) {
      this.#send({ type: "end", handoffData: JSON.stringify({ reason: "handoff" }) });
      this.#ended = true;
    }
    return Response.json({ messageId: turn.messageId });
  }

  /** `<Gather>` calls: the pool's reply is kept until the call's wait step takes it. */
  async #keep(body: PoolPost): Promise<Response> {
    if (typeof body.turn !== "string" || typeof body.text !== "string")
      return Response.json({ error: "a reply needs its turn and text" }, { status: 400 });
    this.#kept.set(body.turn, { text: body.text, handoff: body.handoff === true });
    for (const wake of this.#waiting.get(body.turn) ?? []) wake();
    this.#waiting.delete(body.turn);
    return Response.json({ messageId: `voice:${body.turn}` });
  }

  /** The wait step: the turn's reply, or `{}` after 10 s (Twilio allows 15 s per request; it then asks again). */
  async #waitFor(request: Request): Promise<Response> {
    const { turn } = (await request.json().catch(() => ({}))) as { turn?: string };
    if (typeof turn !== "string") return Response.json({});
    if (!this.#kept.has(turn)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        const waits = this.#waiting.get(turn) ?? [];
        waits.push(() => {
          clearTimeout(timer);
          resolve();
        });
        this.#waiting.set(turn, waits);
      });
    }
    const reply = this.#kept.get(turn);
    if (!reply) return Response.json({});
    this.#kept.delete(turn);
    return Response.json(reply);
  }

  #send(message: Record<string, unknown>): void {
    try {
      this.#socket?.send(JSON.stringify(message));
    } catch {
      this.#close();
    }
  }

  #close(): void {
    this.#ended = true;
    this.#socket = undefined;
    void this.ctx.storage.deleteAlarm();
  }

  #queue(): InboundQueue | undefined {
    return this.#services(this.env)?.inboundQueue;
  }

  #logger(): Logger | undefined {
    return this.#services(this.env)?.logger.child({ callSid: this.#callSid });
  }
}
