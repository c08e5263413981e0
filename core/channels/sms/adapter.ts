import type { ChannelAdapter, ChannelMedia, SubscriptionKeyword } from "../adapter";
import { smsSettings } from "../config";
import { twilioNumberConnection } from "./connection";
import { smsSender } from "./sender";
import { verifyTwilioWebhook } from "./signature";
import { onTwilioApi, SMS_TEXT_LIMIT, TwilioRest } from "./twilio-api";
import { emptyTwiml, normalizeTwilioMessaging, twilioMessagingWebhook, type TwilioMessagingWebhook } from "./webhook";

/** Twilio's default opt-out, opt-in and help keywords (a whole message, any case). `YES` is left out: people answer agents with it. */
const KEYWORDS: Record<string, SubscriptionKeyword> = {
  STOP: "opt_out",
  STOPALL: "opt_out",
  UNSUBSCRIBE: "opt_out",
  CANCEL: "opt_out",
  END: "opt_out",
  QUIT: "opt_out",
  REVOKE: "opt_out",
  OPTOUT: "opt_out",
  START: "opt_in",
  UNSTOP: "opt_in",
  HELP: "help",
  INFO: "help",
};

/** MMS media: Twilio's media URLs, fetched with the account's credentials, and only on Twilio's API host. */
const smsMedia: ChannelMedia = {
  lookUp: "every",
  fetcher(credentials, endpoints, maxBytes) {
    const rest = new TwilioRest(endpoints.twilioApiBase, {
      accountSid: credentials.accountSid ?? "",
      authToken: credentials.authToken ?? "",
    });
    return async (attachment) => {
      const url = onTwilioApi(endpoints.twilioApiBase, attachment.fileId);
      if (!url) throw new Error("the media URL is not on Twilio's API");
      return rest.media(url, maxBytes);
    };
  },
};

/**
 * SMS and MMS through Twilio Programmable Messaging, at `/webhooks/twilio/sms/<address>`: every
 * request is checked against `X-Twilio-Signature` (HMAC-SHA1 under the account's auth token, which
 * the URL carries sealed for the edge) before its body is read into fields; an incoming message is
 * queued (its `MessageSid` is the deduplication id) and answered with empty TwiML at once, the
 * reply going out later through the Messages API; status callbacks record deliveries. `STOP` and
 * the other keywords are stored and never answered; after a `STOP` nothing is sent until `START`.
 */
export const smsAdapter: ChannelAdapter = {
  kind: "sms",
  displayName: "SMS",
  capabilities: { textLimit: SMS_TEXT_LIMIT, buttons: 0, media: true, templates: false, streaming: false, deliveryStatuses: true },
  settings: smsSettings,
  webhookRoute: "twilio/sms",
  webhook: {
    verifyBody: verifyTwilioWebhook("sms"),
    format: "form",
    payload: twilioMessagingWebhook,
    payloadName: "a Twilio messaging webhook",
    normalize: (address, payload: TwilioMessagingWebhook, receivedAt) => normalizeTwilioMessaging(address, payload, receivedAt),
    acknowledge: () => emptyTwiml(),
  },
  connection: twilioNumberConnection({ settings: smsSettings, webhook: "SmsUrl", fact: "statusCallbackUrl" }),
  sender: smsSender,
  media: smsMedia,
  endUserIdentity: (sender) => ({ phone: sender.id }),
  keyword: (text) => KEYWORDS[text.trim().toUpperCase()],
};
