import { toBase64, utf8 } from "../../crypto/encoding";
import { ENDPOINT_DEFAULTS } from "../../endpoints";

/** Twilio's REST API host; `TWILIO_API_BASE` replaces it (the loopback fake in tests and `npm start`). */
export const TWILIO_API_ORIGIN = ENDPOINT_DEFAULTS.TWILIO_API_BASE;

/** The longest body one message may carry: Twilio refuses more (21617) and sends up to 10 segments as one text. */
export const SMS_TEXT_LIMIT = 1600;

/** A Twilio error, as its REST API answers one: `{ code, message, more_info, status }`. */
export class TwilioApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    readonly description: string,
  ) {
    super(`Twilio answered ${status}${code ? ` (${code})` : ""}: ${description}`.slice(0, 300));
  }
}

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
}

export interface TwilioPhoneNumber {
  sid: string;
  phone_number: string;
  friendly_name?: string;
  sms_url?: string | null;
  voice_url?: string | null;
}

/** The number's webhook for incoming messages (SMS) or calls (voice). */
export type TwilioNumberWebhook = "SmsUrl" | "VoiceUrl";

/**
 * A Twilio URL on our configured base: Twilio's own URLs (MMS media are
 * `https://api.twilio.com/2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…`) move to `apiBase`;
 * anything else is refused, so a webhook's URL can never make us fetch another host.
 */
export function onTwilioApi(apiBase: string | undefined, url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const base = (apiBase ?? TWILIO_API_ORIGIN).replace(/\/+$/, "");
  if (parsed.origin === TWILIO_API_ORIGIN) return `${base}${parsed.pathname}${parsed.search}`;
  if (url.startsWith(`${base}/`)) return url;
  return undefined;
}

/**
 * The few REST calls the edge makes for a channel (checking the account, finding the number and
 * pointing its messaging webhook at us) and the pool's MMS downloads, over `fetch`. Replies are
 * sent by the pool with the official SDK (sender.ts); the edge does not load it (wrangler.toml
 * `[alias]`), and these are three form posts.
 */
export class TwilioRest {
  private readonly root: string;
  private readonly authorization: string;
  private readonly fetch: typeof fetch;

  // A wrapper, not `fetch` itself: workerd refuses a `fetch` called as another object's method.
  constructor(apiBase: string | undefined, account: TwilioAccount, fetchImpl: typeof fetch = (input, init) => fetch(input, init)) {
    this.root = `${(apiBase ?? TWILIO_API_ORIGIN).replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(account.accountSid)}`;
    this.authorization = `Basic ${toBase64(utf8.encode(`${account.accountSid}:${account.authToken}`))}`;
    this.fetch = fetchImpl;
  }

  /** The account's number, or undefined when the account has no such number. */
  async findNumber(phoneNumber: string): Promise<TwilioPhoneNumber | undefined> {
    const found = await this.json<{ incoming_phone_numbers?: TwilioPhoneNumber[] }>(
      "GET",
      `/IncomingPhoneNumbers.json?PhoneNumber=${encodeURIComponent(phoneNumber)}`,
    );
    return found.incoming_phone_numbers?.find((number) => number.phone_number === phoneNumber);
  }

  /** Points the number's incoming messages or calls at `url` (POST); an empty URL removes it. */
  setWebhook(numberSid: string, webhook: TwilioNumberWebhook, url: string): Promise<TwilioPhoneNumber> {
    const method = webhook === "SmsUrl" ? "SmsMethod" : "VoiceMethod";
    return this.json("POST", `/IncomingPhoneNumbers/${encodeURIComponent(numberSid)}.json`, { [webhook]: url, [method]: "POST" });
  }

  /** Starts recording a call in progress (both sides on separate channels); Twilio keeps the recording. */
  async startRecording(callSid: string): Promise<void> {
    await this.json("POST", `/Calls/${encodeURIComponent(callSid)}/Recordings.json`, { RecordingChannels: "dual" });
  }

  /** An MMS media file, with the account's credentials; larger than `maxBytes`: its size and type only. */
  async media(url: string, maxBytes: number): Promise<{ bytes?: Uint8Array; fileSize?: number; mimeType?: string }> {
    const response = await this.fetch(url, { headers: { authorization: this.authorization }, redirect: "follow" });
    if (!response.ok) throw await errorOf(response);
    const mimeType = response.headers.get("content-type")?.split(";")[0]?.trim();
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel();
      return { fileSize: declared, ...(mimeType ? { mimeType } : {}) };
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxBytes) return { fileSize: bytes.length, ...(mimeType ? { mimeType } : {}) };
    return { bytes, fileSize: bytes.length, ...(mimeType ? { mimeType } : {}) };
  }

  private async json<T>(method: "GET" | "POST", path: string, form?: Record<string, string>): Promise<T> {
    const response = await this.fetch(`${this.root}${path}`, {
      method,
      headers: {
        authorization: this.authorization,
        accept: "application/json",
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }
}

async function errorOf(response: Response): Promise<TwilioApiError> {
  const body = (await response.json().catch(() => ({}))) as { code?: unknown; message?: unknown };
  return new TwilioApiError(
    response.status,
    typeof body.code === "number" ? body.code : undefined,
    typeof body.message === "string" ? body.message : response.statusText || "no details",
  );
}
