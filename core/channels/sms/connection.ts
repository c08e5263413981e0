import { z } from "zod";
import type { ChannelConnection, ChannelLink } from "../adapter";
import { probe } from "../checks";
import { readChannelSettings } from "../config";
import { TwilioApiError, TwilioRest, type TwilioAccount, type TwilioNumberWebhook } from "./twilio-api";

const describeError = (error: unknown) => (error instanceof TwilioApiError ? error.message : undefined);

/**
 * A Twilio account (its SID and auth token) and one of its numbers, for SMS (`SmsUrl`) or voice
 * (`VoiceUrl`): connecting finds the number in the account and points its webhook at us, the URL
 * carrying the auth token sealed for the edge (Twilio signs every request with it; we cannot
 * choose that secret) and whatever else the kind puts in its query (voice: the call's settings,
 * which the edge turns into TwiML without a database). The URL is kept as the fact `fact`. A new
 * token, number or setting points the webhook again; removing the channel clears it.
 */
export function twilioNumberConnection(options: {
  settings: z.ZodType<Record<string, unknown>>;
  webhook: TwilioNumberWebhook;
  fact: "statusCallbackUrl" | "voiceUrl";
  query?(settings: Record<string, unknown>): Record<string, string>;
}): ChannelConnection {
  const { webhook, fact } = options;
  const webhookUrl = async (link: ChannelLink, account: TwilioAccount, settings: Record<string, unknown>) =>
    `${link.webhookUrl}?${new URLSearchParams({ s: await link.seal(account.authToken), ...options.query?.(settings) }).toString()}`;
  return {
    connectFields: {
      accountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "a Twilio account SID (AC followed by 32 hex digits)"),
      authToken: z.string().regex(/^[0-9a-f]{32}$/, "a Twilio auth token (32 hex digits)"),
      settings: options.settings,
    },
    credentialFields: ["accountSid", "authToken"],
    recheckSettings: true,
    keptFacts: ["phoneNumberSid", fact],
    async connect(link, credentials, settings) {
      const account = accountOf(credentials);
      const phoneNumber = readChannelSettings(settings).phoneNumber;
      if (!account || !phoneNumber) throw new Error("an account SID, an auth token and a phone number are needed");
      const rest = restOf(link, account);
      const number = await rest.findNumber(phoneNumber);
      if (!number) throw new Error(`${phoneNumber} is not a phone number of this Twilio account`);
      const url = await webhookUrl(link, account, settings);
      await rest.setWebhook(number.sid, webhook, url);
      return { phoneNumberSid: number.sid, [fact]: url };
    },
    async check(link, credentials, settings) {
      const account = credentials && accountOf(credentials);
      const stored = readChannelSettings(settings);
      const phoneNumber = stored.phoneNumber;
      if (!account || !phoneNumber) {
        return [{ name: "credentials", ok: false, detail: "no readable account SID, auth token or phone number is stored" }];
      }
      const rest = restOf(link, account);
      let found: Awaited<ReturnType<TwilioRest["findNumber"]>>;
      const number = await probe(
        "phone number",
        async () => {
          found = await rest.findNumber(phoneNumber);
          if (!found) throw new Error(`${phoneNumber} is no longer a phone number of this Twilio account`);
          return `${found.phone_number}${found.friendly_name ? ` (${found.friendly_name})` : ""}`;
        },
        describeError,
      );
      if (!number.ok) return [number];
      const current = webhook === "SmsUrl" ? found?.sms_url : found?.voice_url;
      const pointed = Boolean(current) && current === stored[fact];
      return [
        number,
        {
          name: webhook === "SmsUrl" ? "messaging webhook" : "voice webhook",
          ok: pointed,
          detail: pointed
            ? `incoming ${webhook === "SmsUrl" ? "messages" : "calls"} are sent to this channel`
            : `the number's incoming ${webhook === "SmsUrl" ? "messages are" : "calls are"} not sent here; save the channel again to point them back`,
        },
      ];
    },
    async disconnect(link, credentials, settings) {
      const account = accountOf(credentials);
      const { phoneNumberSid } = readChannelSettings(settings);
      if (!account || !phoneNumberSid) return false;
      return restOf(link, account)
        .setWebhook(phoneNumberSid, webhook, "")
        .then(() => true)
        .catch(() => false);
    },
    describeError,
  };
}

function accountOf(credentials: Record<string, string>): TwilioAccount | undefined {
  const { accountSid, authToken } = credentials;
  return accountSid && authToken ? { accountSid, authToken } : undefined;
}

function restOf(link: ChannelLink, account: TwilioAccount): TwilioRest {
  return new TwilioRest(link.endpoints.twilioApiBase, account, link.fetch);
}
