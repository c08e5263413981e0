/**
 * A minimal client of the WhatsApp Cloud API on Meta's Graph API
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference). Over `fetch`, with a
 * configurable base URL (`https://graph.facebook.com/v21.0`, or the loopback fake in tests); the
 * access token travels in the Authorization header and never appears in an error.
 */
export interface GraphApiOptions {
  /** e.g. https://graph.facebook.com/v21.0 */
  apiBase: string;
  accessToken: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Meta's error shape: `{ error: { message, type, code, error_subcode, error_data: { details }, fbtrace_id } }`. */
export class GraphApiError extends Error {
  override readonly name = "GraphApiError";
  constructor(
    readonly operation: string,
    readonly status: number,
    /** Meta's error code, e.g. 130429 (rate limit), 131056 (pair rate limit), 131047 (outside the window). */
    readonly errorCode: number | undefined,
    readonly description: string,
  ) {
    super(`WhatsApp ${operation} failed with ${status}${errorCode ? ` (${errorCode})` : ""}: ${description}`);
  }

  /** Rate limits: back off and retry. */
  get rateLimited(): boolean {
    return this.errorCode === 130429 || this.errorCode === 131056 || this.errorCode === 80007 || this.status === 429;
  }

  /** Will never succeed as sent (bad request, recipient unreachable, token revoked...). */
  get permanent(): boolean {
    return !this.rateLimited && this.status >= 400 && this.status < 500;
  }
}

/** WhatsApp's limit for one text body; interactive bodies allow 1,024, button titles 20. */
export const WHATSAPP_TEXT_LIMIT = 4096;

export interface MediaInfo {
  id: string;
  url: string;
  mime_type?: string;
  sha256?: string;
  file_size?: number;
}

/** A message template as the Graph API lists it. */
export interface GraphTemplate {
  name: string;
  language: string;
  status: string;
  category?: string;
  components?: Array<{ type: string; format?: string; text?: string; buttons?: Array<{ type: string; text?: string; url?: string }> }>;
}

export class WhatsAppGraphApi {
  readonly #options: Required<Omit<GraphApiOptions, "fetch">> & { fetch: typeof fetch };

  constructor(options: GraphApiOptions) {
    this.#options = {
      timeoutMs: 15_000,
      ...options,
      apiBase: options.apiBase.replace(/\/+$/, ""),
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    };
  }

  /** Sends any message object (text, interactive, template); answers the new message's `wamid`. */
  async sendMessage(phoneNumberId: string, message: Record<string, unknown>): Promise<string> {
    const body = await this.#call<{ messages?: Array<{ id: string }> }>("send", "POST", `/${encodeURIComponent(phoneNumberId)}/messages`, {
      messaging_product: "whatsapp",
      recipient_type: "individual",
      ...message,
    });
    const id = body.messages?.[0]?.id;
    if (!id) throw new GraphApiError("send", 200, undefined, "the answer carried no message id");
    return id;
  }

  sendText(phoneNumberId: string, to: string, text: string): Promise<string> {
    return this.sendMessage(phoneNumberId, { to, type: "text", text: { body: text, preview_url: false } });
  }

  async markRead(phoneNumberId: string, messageId: string): Promise<void> {
    await this.#call("mark_read", "POST", `/${encodeURIComponent(phoneNumberId)}/messages`, {
      messaging_product: "whatsapp",
      status: "read",
      message_id: messageId,
    });
  }

  /** Where to download a media object (the URL is short-lived and needs the same token). */
  getMedia(mediaId: string): Promise<MediaInfo> {
    return this.#call<MediaInfo>("media", "GET", `/${encodeURIComponent(mediaId)}`);
  }

  async downloadMedia(url: string): Promise<Uint8Array> {
    const response = await this.#fetch("media_download", url, { method: "GET" });
    if (!response.ok) throw new GraphApiError("media_download", response.status, undefined, response.statusText || "download failed");
    return new Uint8Array(await response.arrayBuffer());
  }

  /** The WhatsApp Business Account's message templates (the first 200: approved and not), with their components. */
  async listTemplates(businessAccountId: string): Promise<GraphTemplate[]> {
    const page = await this.#call<{ data?: GraphTemplate[] }>(
      "templates",
      "GET",
      `/${encodeURIComponent(businessAccountId)}/message_templates?fields=name,language,status,category,components&limit=200`,
    );
    return page.data ?? [];
  }

  getPhoneNumber(phoneNumberId: string): Promise<{ id: string; display_phone_number?: string; verified_name?: string }> {
    return this.#call("phone_number", "GET", `/${encodeURIComponent(phoneNumberId)}?fields=display_phone_number,verified_name`);
  }

  async #fetch(operation: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#options.fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${this.#options.accessToken}`, ...(init.body ? { "content-type": "application/json" } : {}) },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      throw new GraphApiError(operation, 0, undefined, error instanceof Error ? error.name : "network error");
    }
  }

  async #call<T>(operation: string, method: string, path: string, body?: object): Promise<T> {
    const response = await this.#fetch(operation, `${this.#options.apiBase}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const parsed = (await response.json().catch(() => undefined)) as
      (T & { error?: { message?: string; code?: number; error_data?: { details?: string } } }) | undefined;
    if (!response.ok || parsed?.error) {
      const error = parsed?.error;
      throw new GraphApiError(
        operation,
        response.status,
        error?.code,
        (error?.error_data?.details ?? error?.message ?? response.statusText).slice(0, 300),
      );
    }
    return parsed as T;
  }
}
