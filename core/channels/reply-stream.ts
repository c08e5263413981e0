import type { ReplyListener } from "../engine/engine";
import type { Logger } from "../observability/log";

/** The reply stream's requests: the turn (the person's message id on the channel) and the text written since the last request. */
export interface StreamedTokens {
  turn: string;
  tokens: string;
}

/**
 * One JSON request to a reply URL the edge put on a message (a call's object, a web chat
 * session's stream): the status and the JSON answer (empty when it has none). Throws when the
 * edge cannot be reached within `timeoutMs`. Tokens, whole replies and pushes all go this way.
 */
export async function postToReplyUrl(
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ ok: boolean; status: number; answer: Record<string, unknown> & { error?: string } }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { ok: response.ok, status: response.status, answer };
}

/** A reply's tokens on their way to the edge; `close` waits for the request in flight and ends the stream. */
export interface ReplyStream extends ReplyListener {
  signal: AbortSignal;
  close(): Promise<void>;
}

/**
 * A reply's tokens on their way to the conversation's live end on the edge (a call's Durable
 * Object, a web chat session's stream), posted to the URL the edge put on the person's message as
 * the model writes them: one request at a time, carrying whatever was written while the previous
 * one was in flight, so a slow edge gets fewer, larger requests and never reordered ones.
 *
 * The edge answers 409 or 410 when nobody wants the reply any more (the caller spoke over it, the
 * call ended): `signal` then aborts, which cancels the turn's model call. Any other failure only
 * ends the streaming; the whole reply still goes through the channel's sender once recorded, and
 * the edge sends whatever of it was not streamed. Hand-written: a queue of one request with
 * coalescing is a few lines, and no library does exactly that over `fetch`.
 */
export function replyStream(options: { url: string; turn: string; logger: Logger; timeoutMs?: number }): ReplyStream {
  const controller = new AbortController();
  let pending = "";
  let stopped = false;
  let inFlight: Promise<void> | undefined;

  const stop = (event: string, fields: Record<string, unknown>) => {
    stopped = true;
    options.logger.log("info", event, fields);
  };
  const drain = async () => {
    while (pending && !stopped) {
      const body: StreamedTokens = { turn: options.turn, tokens: pending };
      pending = "";
      try {
        const response = await postToReplyUrl(options.url, body, options.timeoutMs ?? 5000);
        const answer = response.answer;
        if (response.status === 409 || response.status === 410) {
          stop("turn.stream_cancelled", { status: response.status, reason: answer.error ?? "" });
          controller.abort(new Error(answer.error ?? "nobody is listening to this reply any more"));
        } else if (!response.ok || answer.streaming === false) {
          stop("turn.stream_stopped", { status: response.status });
        }
      } catch {
        stop("turn.stream_unreachable", {});
      }
    }
    inFlight = undefined;
  };

  return {
    signal: controller.signal,
    onToken(token) {
      if (stopped) return;
      pending += token;
      inFlight ??= drain();
    },
    async close() {
      await inFlight;
      stopped = true;
      pending = "";
    },
  };
}
