import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sentWaiter } from "./sent-waiter";

/** What the fake recorded for one Bot API call. */
export interface RecordedCall {
  token: string;
  method: string;
  params: Record<string, unknown>;
  at: number;
}

export interface SentTelegramMessage {
  message_id: number;
  chat_id: string;
  text: string;
  date: number;
  /** When the fake accepted it, in epoch milliseconds (not part of the Bot API; for latency figures). */
  sent_at_ms: number;
}

export interface FakeTelegram {
  url: string;
  port: number;
  calls: RecordedCall[];
  /** Messages the bot sent, in order. */
  sent(chatId?: string | number): SentTelegramMessage[];
  /** Resolves once `count` messages were sent to the chat, or rejects after `timeoutMs`. */
  waitForSent(chatId: string | number, count: number, timeoutMs?: number): Promise<SentTelegramMessage[]>;
  /** A file a user sent, for `getFile` and `GET /file/bot<token>/<file_path>`. */
  addFile(fileId: string, bytes: Uint8Array): void;
  /** `file_path`s downloaded, in order. */
  downloads(): string[];
  /** Queues an update for `getUpdates` (long polling), as Telegram does for a user's message. */
  pushUpdate(update: Record<string, unknown>): void;
  /** The next `count` sendMessage calls fail with this status (429 carries `retry_after`). */
  failNextSends(count: number, status: 429 | 500 | 400 | 403): void;
  /** Every sendMessage waits this long before it is accepted (a slow channel; 0 turns it off). */
  delaySends(ms: number): void;
  /** sendMessage calls wait until `resumeSends()`: lets a test hold turns mid-send. */
  pauseSends(): void;
  resumeSends(): void;
  /** Chat ids of the sendMessage calls being held right now (delayed or paused), in arrival order. */
  sendsInFlight(): string[];
  /** The most sendMessage calls held at once: overall, and for any one chat. */
  maxConcurrentSends(): { overall: number; perChat: number };
  close(): Promise<void>;
}

const TOKEN = /^\d+:[A-Za-z0-9_-]{10,}$/;

/**
 * A loopback fake of the Telegram Bot API (https://core.telegram.org/bots/api): the same URL
 * scheme (`/bot<token>/<method>`), JSON or form bodies, and `{ ok, result | description,
 * error_code, parameters }` answers, so the production client is what gets exercised. It records
 * every call; `GET /_fake/sent?chat_id=` lets the chat CLI read replies.
 */
export async function startFakeTelegram(options: { port?: number } = {}): Promise<FakeTelegram> {
  const calls: RecordedCall[] = [];
  const sentMessages: SentTelegramMessage[] = [];
  const updates: Array<Record<string, unknown>> = [];
  const waiter = sentWaiter();
  const pollers = new Set<() => void>();
  let nextMessageId = 1;
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let delayMs = 0;
  let paused = false;
  let pausedWaiters: Array<() => void> = [];
  const inFlight: string[] = [];
  const maxima = { overall: 0, perChat: 0 };
  let webhookUrl = "";
  const files = new Map<string, { path: string; bytes: Uint8Array }>();
  const downloaded: string[] = [];

  const notify = (set: Set<() => void>) => {
    for (const wake of [...set]) wake();
  };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

    if (url.pathname === "/_fake/sent") {
      // `offset` skips that many messages of the whole log, so a reader can fetch only what is new.
      const chatId = url.searchParams.get("chat_id");
      const offset = Number(url.searchParams.get("offset") ?? 0) || 0;
      const result = sentMessages.slice(offset).filter((m) => !chatId || m.chat_id === chatId);
      return reply(200, { ok: true, result, next: sentMessages.length });
    }

    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download && request.method === "GET") {
      const [, token, path] = download as unknown as [string, string, string];
      const file = [...files.values()].find((candidate) => candidate.path === decodeURIComponent(path));
      if (!TOKEN.test(token) || !file) return response.writeHead(404).end("Not Found");
      downloaded.push(file.path);
      return response
        .writeHead(200, { "content-type": "application/octet-stream", "content-length": String(file.bytes.length) })
        .end(Buffer.from(file.bytes));
    }

    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!match) return reply(404, { ok: false, error_code: 404, description: "Not Found" });
    const [, token, method] = match as unknown as [string, string, string];
    if (!TOKEN.test(token)) return reply(401, { ok: false, error_code: 401, description: "Unauthorized" });

    let params: Record<string, unknown>;
    try {
      params = { ...Object.fromEntries(url.searchParams), ...(await readParams(request)) };
    } catch {
      return reply(400, { ok: false, error_code: 400, description: "Bad Request: can't parse JSON object" });
    }
    calls.push({ token, method, params, at: Date.now() });

    switch (method) {
      case "getMe":
        return reply(200, {
          ok: true,
          result: { id: Number(token.split(":")[0]), is_bot: true, first_name: "Fake", username: "fake_bot" },
        });
      case "sendMessage": {
        if (params.chat_id === undefined || params.chat_id === "")
          return reply(400, { ok: false, error_code: 400, description: "Bad Request: chat_id is empty" });
        if (typeof params.text !== "string" || params.text.length === 0)
          return reply(400, { ok: false, error_code: 400, description: "Bad Request: message text is empty" });
        if (params.text.length > 4096) return reply(400, { ok: false, error_code: 400, description: "Bad Request: message is too long" });
        if (failures.count > 0) {
          failures.count--;
          if (failures.status === 429)
            return reply(429, {
              ok: false,
              error_code: 429,
              description: "Too Many Requests: retry after 1",
              parameters: { retry_after: 1 },
            });
          return reply(failures.status, { ok: false, error_code: failures.status, description: "Fake failure" });
        }
        if (delayMs > 0 || paused) {
          // A client that hangs up while its send is held never got it delivered: nothing is recorded.
          let gone = false;
          response.once("close", () => (gone = !response.writableEnded));
          const chat = String(params.chat_id);
          inFlight.push(chat);
          maxima.overall = Math.max(maxima.overall, inFlight.length);
          maxima.perChat = Math.max(maxima.perChat, inFlight.filter((id) => id === chat).length);
          try {
            if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
            if (paused) await new Promise<void>((resolve) => pausedWaiters.push(resolve));
          } finally {
            inFlight.splice(inFlight.indexOf(chat), 1);
          }
          if (gone) return;
        }
        const message: SentTelegramMessage = {
          message_id: nextMessageId++,
          chat_id: String(params.chat_id),
          text: params.text,
          date: Math.floor(Date.now() / 1000),
          sent_at_ms: Date.now(),
        };
        sentMessages.push(message);
        waiter.sent();
        return reply(200, {
          ok: true,
          result: {
            message_id: message.message_id,
            date: message.date,
            chat: { id: Number(message.chat_id), type: "private" },
            text: message.text,
          },
        });
      }
      case "getFile": {
        const file = files.get(String(params.file_id ?? ""));
        if (!file) return reply(400, { ok: false, error_code: 400, description: "Bad Request: invalid file_id" });
        return reply(200, {
          ok: true,
          result: { file_id: params.file_id, file_unique_id: `u${params.file_id}`, file_size: file.bytes.length, file_path: file.path },
        });
      }
      case "setWebhook":
        webhookUrl = String(params.url ?? "");
        return reply(200, { ok: true, result: true, description: "Webhook was set" });
      case "deleteWebhook":
        webhookUrl = "";
        return reply(200, { ok: true, result: true, description: "Webhook was deleted" });
      case "getWebhookInfo":
        return reply(200, { ok: true, result: { url: webhookUrl, pending_update_count: updates.length } });
      case "getUpdates": {
        if (webhookUrl)
          return reply(409, { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active" });
        const offset = Number(params.offset ?? 0);
        // Like Telegram: an offset confirms every update below it.
        while (updates.length && Number(updates[0]!.update_id) < offset) updates.shift();
        if (!updates.length && Number(params.timeout ?? 0) > 0) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              pollers.delete(wake);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(wake, Math.min(Number(params.timeout), 50) * 1000);
            pollers.add(wake);
          });
        }
        return reply(200, { ok: true, result: updates.slice(0, Number(params.limit ?? 100)) });
      }
      default:
        return reply(404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const sent = (chatId?: string | number) => sentMessages.filter((message) => chatId === undefined || message.chat_id === String(chatId));

  return {
    addFile(fileId, bytes) {
      files.set(fileId, { path: `documents/file_${files.size}.bin`, bytes });
    },
    downloads: () => [...downloaded],
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    sent,
    waitForSent: (chatId, count, timeoutMs = 30_000) =>
      waiter.waitFor(
        () => sent(chatId),
        count,
        timeoutMs,
        (got) => `fake Telegram: expected ${count} message(s) to chat ${chatId}, got ${got}`,
      ),
    pushUpdate(update) {
      updates.push(update);
      notify(pollers);
    },
    failNextSends(count, status) {
      failures = { count, status };
    },
    delaySends(ms) {
      delayMs = ms;
    },
    pauseSends() {
      paused = true;
    },
    resumeSends() {
      paused = false;
      const waiting = pausedWaiters;
      pausedWaiters = [];
      for (const wake of waiting) wake();
    },
    sendsInFlight: () => [...inFlight],
    maxConcurrentSends: () => ({ ...maxima }),
    close() {
      notify(pollers);
      paused = false;
      for (const wake of pausedWaiters.splice(0)) wake();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function readParams(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  if (!body) return {};
  const type = request.headers["content-type"] ?? "";
  if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(body));
  return JSON.parse(body) as Record<string, unknown>;
}
