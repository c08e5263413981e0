/**
 * A minimal client of the Telegram Bot API's HTTP interface (https://core.telegram.org/bots/api).
 * Hand-written over `fetch` rather than a bot framework (grammY, Telegraf): the pool needs a handful
 * of methods, must run against a configurable base URL (the loopback fake in tests), and must never
 * log the token, which sits in the URL path.
 */
export interface TelegramBotApiOptions {
  /** e.g. https://api.telegram.org, or a loopback fake. */
  apiBase: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class TelegramApiError extends Error {
  readonly code = "TELEGRAM_API_ERROR";
  constructor(
    readonly method: string,
    readonly status: number,
    readonly description: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`Telegram ${method} failed with ${status}: ${description}`);
  }
}

export interface SentMessage {
  message_id: number;
  date: number;
  chat: { id: number };
  text?: string;
}

/** Telegram's limit for one text message. */
export const TELEGRAM_TEXT_LIMIT = 4096;

export class TelegramBotApi {
  readonly #options: Required<Omit<TelegramBotApiOptions, "fetch">> & { fetch: typeof fetch };

  constructor(options: TelegramBotApiOptions) {
    this.#options = {
      timeoutMs: 15_000,
      ...options,
      apiBase: options.apiBase.replace(/\/+$/, ""),
      // Wrapped: workerd refuses a `fetch` called with another `this` ("Illegal invocation").
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    };
  }

  /**
   * Plain text (no `parse_mode`): a model's Markdown or HTML is shown as written, never parsed, so
   * nothing it writes can break the message or inject formatting. Split longer texts first
   * (`splitText`); the API refuses more than {@link TELEGRAM_TEXT_LIMIT} characters. Link previews
   * are off unless the channel allows them: a preview makes Telegram's servers fetch whatever URL a reply names (a model, or text a
   * person got it to repeat, could point them anywhere) and shows that page's content as ours.
   */
  sendMessage(chatId: string | number, text: string, options: { linkPreviews?: boolean } = {}): Promise<SentMessage> {
    return this.call<SentMessage>("sendMessage", { chat_id: chatId, text, link_preview_options: { is_disabled: !options.linkPreviews } });
  }

  /** Points Telegram at our webhook; `secret_token` comes back in `X-Telegram-Bot-Api-Secret-Token`. */
  setWebhook(params: { url: string; secretToken: string; allowedUpdates: string[] }): Promise<boolean> {
    return this.call("setWebhook", {
      url: params.url,
      secret_token: params.secretToken,
      allowed_updates: params.allowedUpdates,
      drop_pending_updates: false,
    });
  }

  getWebhookInfo(): Promise<{ url: string; pending_update_count: number; last_error_message?: string }> {
    return this.call("getWebhookInfo", {});
  }

  getMe(): Promise<{ id: number; is_bot: boolean; username?: string }> {
    return this.call("getMe", {});
  }

  /** Long polling, for running a real bot on a machine with no public URL. */
  getUpdates(params: { offset?: number; timeout?: number; allowed_updates?: string[] }, signal?: AbortSignal): Promise<unknown[]> {
    return this.call("getUpdates", params, (params.timeout ?? 0) * 1000 + this.#options.timeoutMs, signal);
  }

  /** A file's path for download (valid for an hour); files over 20 MB cannot be downloaded by bots. */
  getFile(fileId: string): Promise<{ file_id: string; file_unique_id?: string; file_size?: number; file_path?: string }> {
    return this.call("getFile", { file_id: fileId });
  }

  /**
   * The bytes at a `file_path` from {@link getFile}, refused past `maxBytes` (checked on the
   * declared length and again while reading, so a lying server cannot fill memory).
   */
  async downloadFile(filePath: string, maxBytes: number): Promise<Uint8Array> {
    const url = `${this.#options.apiBase}/file/bot${this.#options.token}/${filePath.split("/").map(encodeURIComponent).join("/")}`;
    let response: Response;
    try {
      response = await this.#options.fetch(url, { signal: AbortSignal.timeout(this.#options.timeoutMs) });
    } catch (error) {
      throw new TelegramApiError("downloadFile", 0, error instanceof Error ? error.name : "network error");
    }
    if (!response.ok) throw new TelegramApiError("downloadFile", response.status, response.statusText);
    if (Number(response.headers.get("content-length") ?? 0) > maxBytes) throw new TelegramApiError("downloadFile", 413, "file too large");
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new TelegramApiError("downloadFile", 413, "file too large");
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes;
  }

  deleteWebhook(): Promise<boolean> {
    return this.call("deleteWebhook", { drop_pending_updates: false });
  }

  async call<T>(method: string, params: object, timeoutMs = this.#options.timeoutMs, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const url = `${this.#options.apiBase}/bot${this.#options.token}/${method}`;
    let response: Response;
    try {
      response = await this.#options.fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (error) {
      // The URL holds the token: report the method, never the URL.
      throw new TelegramApiError(method, 0, error instanceof Error ? error.name : "network error");
    }
    const body = (await response.json().catch(() => undefined)) as
      { ok: boolean; result?: T; description?: string; parameters?: { retry_after?: number } } | undefined;
    if (!response.ok || !body?.ok) {
      throw new TelegramApiError(method, response.status, body?.description ?? response.statusText, body?.parameters?.retry_after);
    }
    return body.result as T;
  }
}
