import { DurableObject } from "cloudflare:workers";
import type { StreamedTokens } from "../../../core/channels/reply-stream";
import { replyEvent, tokenEvent, type StreamedReply } from "../../../core/channels/webchat/stream";
import type { Env } from "../env";

/** Idle connections are closed by proxies after a minute or two; a comment line keeps them open. */
const HEARTBEAT_MS = 20_000;
const encoder = new TextEncoder();

/**
 * One web chat session's live replies, as a Durable Object named by the channel address and the
 * session: it holds the session's open server-sent-events streams (a visitor may have the chat in
 * two tabs) and writes each reply the pool pushes to all of them, and before it the reply's tokens
 * as the model writes them (answering `streaming: false` when nobody listens, so the pool stops
 * sending them). It keeps no messages: a widget
 * that was not connected reads what it missed from `GET /webchat/:address/messages` (it does on
 * every (re)connection), so a push that finds no listener loses nothing.
 */
export class WebchatStream extends DurableObject<Env> {
  readonly #listeners = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  override async fetch(request: Request): Promise<Response> {
    if (request.method === "GET") return this.#listen(request);
    if (request.method === "POST") {
      const posted = (await request.json().catch(() => undefined)) as (Partial<StreamedReply> & Partial<StreamedTokens>) | undefined;
      const turn = typeof posted?.turn === "string" ? posted.turn : undefined;
      if (turn && typeof posted?.tokens === "string") {
        const listeners = this.#listeners.size ? await this.#write(tokenEvent({ turn, text: posted.tokens })) : 0;
        return Response.json({ listeners, streaming: listeners > 0 });
      }
      if (!posted || typeof posted.id !== "string" || typeof posted.text !== "string" || typeof posted.at !== "string") {
        return Response.json({ error: "a reply needs id, text and at" }, { status: 400 });
      }
      const listeners = await this.#write(replyEvent({ id: posted.id, text: posted.text, at: posted.at, ...(turn ? { turn } : {}) }));
      return Response.json({ listeners });
    }
    return Response.json({ error: "not_found" }, { status: 404 });
  }

  #listen(request: Request): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.#listeners.add(writer);
    request.signal.addEventListener("abort", () => this.#drop(writer));
    // The reconnection delay, then an empty comment so the browser reports the stream open at once.
    void writer.write(encoder.encode("retry: 3000\n: open\n\n")).catch(() => this.#drop(writer));
    this.#heartbeat ??= setInterval(() => void this.#write(": keep-alive\n\n"), HEARTBEAT_MS);
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
    });
  }

  async #write(event: string): Promise<number> {
    const bytes = encoder.encode(event);
    const writers = [...this.#listeners];
    await Promise.all(writers.map((writer) => writer.write(bytes).catch(() => this.#drop(writer))));
    return this.#listeners.size;
  }

  #drop(writer: WritableStreamDefaultWriter<Uint8Array>): void {
    this.#listeners.delete(writer);
    void writer.close().catch(() => {});
    if (this.#listeners.size === 0 && this.#heartbeat) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }
}
