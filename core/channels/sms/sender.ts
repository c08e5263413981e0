import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import { PermanentSendError, RateLimitedError, type ChannelSender, type SenderDependencies } from "../adapter";
import { readChannelSettings } from "../config";
import { splitText } from "../split";
import { onTwilioApi, SMS_TEXT_LIMIT, TWILIO_API_ORIGIN } from "./twilio-api";

const MAX_ATTEMPTS_PER_PART = 4;
/** Twilio's "Too Many Requests" and the unsubscribed recipient (the person texted STOP to the number). */
const TOO_MANY_REQUESTS = 20429;
const UNSUBSCRIBED = 21610;

/**
 * Twilio Programmable Messaging, with the official SDK: the reply split at 1,600 characters (the
 * most one message carries; Twilio sends it as concatenated segments), each part sent from the
 * channel's number with a status callback to our webhook (its URL carries the sealed auth token
 * Twilio signs with), so deliveries and failures are recorded on the reply. 429s back off in
 * place, then go back to the queue; other 4xx errors (a recipient who texted STOP, an invalid
 * number) fail the reply once with Twilio's reason.
 */
export function smsSender(deps: SenderDependencies): ChannelSender {
  const baseMs = deps.rateLimitBaseMs ?? 1000;
  return {
    async send(reply, progress) {
      const { accountSid, authToken } = reply.credentials ?? {};
      if (!accountSid || !authToken) throw new PermanentSendError("the channel has no credentials");
      const settings = readChannelSettings(reply.channel.config);
      if (!settings.phoneNumber) throw new PermanentSendError("the channel has no phone number");
      const client = twilio(accountSid, authToken, { httpClient: sharedHttpClient(deps.twilioApiBase) });
      const parts = splitText(reply.text, SMS_TEXT_LIMIT);
      for (const [index, body] of parts.entries()) {
        if (index < reply.partsDelivered) continue;
        for (let attempt = 1; ; attempt++) {
          try {
            const message = await client.messages.create({
              from: settings.phoneNumber,
              to: reply.conversationKey,
              body,
              ...(settings.statusCallbackUrl ? { statusCallback: settings.statusCallbackUrl } : {}),
            });
            await progress.onPart(message.sid, { last: index === parts.length - 1 });
            break;
          } catch (error) {
            if (!isRestException(error)) throw error;
            if (error.status === 429 || error.code === TOO_MANY_REQUESTS) {
              if (attempt >= MAX_ATTEMPTS_PER_PART)
                throw new RateLimitedError(`Twilio rate limit (${error.code ?? 429}) after ${attempt} attempts`);
              deps.logger.log("warn", "send.rate_limited", { channel: "sms", errorCode: error.code, attempt });
              await deps.sleep(baseMs * 2 ** (attempt - 1));
              continue;
            }
            if (error.code === UNSUBSCRIBED)
              throw new PermanentSendError(`${UNSUBSCRIBED}: the person has opted out of messages from this number`);
            if (error.status >= 400 && error.status < 500)
              throw new PermanentSendError(`${error.code ?? error.status}: ${error.message}`.slice(0, 500));
            throw error;
          }
        }
      }
    },
  };
}

function isRestException(error: unknown): error is { status: number; code?: number; message: string } {
  return error instanceof twilio.RestException;
}

/**
 * One HTTP client for every Twilio account (credentials travel with each request), so connections
 * are kept alive across replies; it moves Twilio's URLs to `TWILIO_API_BASE` (the loopback fake in
 * tests and `npm start`). Made on first use: the subclass needs the SDK's class, which the edge's
 * bundle does not have.
 */
const httpClients = new Map<string, RequestClient>();
function sharedHttpClient(apiBase: string = TWILIO_API_ORIGIN): RequestClient {
  let client = httpClients.get(apiBase);
  if (!client) {
    const rebased = apiBase.replace(/\/+$/, "") === TWILIO_API_ORIGIN ? undefined : apiBase;
    client = rebased
      ? new (class extends twilio.RequestClient {
          override request<T>(opts: RequestClient.RequestOptions<T>) {
            const uri = onTwilioApi(rebased, opts.uri);
            if (!uri) throw new Error(`not a Twilio API URL: ${new URL(opts.uri).origin}`);
            return super.request({ ...opts, uri });
          }
        })({ keepAlive: true, timeout: 30_000 })
      : new twilio.RequestClient({ keepAlive: true, timeout: 30_000 });
    httpClients.set(apiBase, client);
  }
  return client;
}
