import { z } from "zod";
import type { ChannelConnection, ChannelLink } from "../adapter";
import { probe } from "../checks";
import { readChannelSettings, smsSettings } from "../config";
import { TwilioApiError, TwilioRest, type TwilioAccount } from "./twilio-api";

const describeError = (error: unknown) => (error instanceof TwilioApiError ? error.message : undefined);

/**
 * A Twilio account (its SID and auth token) and one of its numbers: connecting finds the number in
 * the account and points its incoming messages at our webhook, whose URL carries the auth token
 * sealed for the edge (Twilio signs every request with it; we cannot choose that secret). A new
 * token or number points the webhook again; removing the channel clears it.
 */
export const smsConnection: ChannelConnection = {
  connectFields: {
    accountSid: z.string().regex(/^AC[0-9a-f]{32}$/, "a Twilio account SID (AC followed by 32 hex digits)"),
    authToken: z.string().regex(/^[0-9a-f]{32}$/, "a Twilio auth token (32 hex digits)"),
    settings: smsSettings,
  },
  credentialFields: ["accountSid", "authToken"],
  recheckSettings: true,
  keptFacts: ["phoneNumberSid", "statusCallbackUrl"],
  async connect(link, credentials, settings) {
    const account = accountOf(credentials);
    const phoneNumber = readChannelSettings(settings).phoneNumber;
    if (!account || !phoneNumber) throw new Error("an account SID, an auth token and a phone number are needed");
    const rest = restOf(link, account);
    const number = await rest.findNumber(phoneNumber);
    if (!number) throw new Error(`${phoneNumber} is not a phone number of this Twilio account`);
    const statusCallbackUrl = `${link.webhookUrl}?s=${await link.seal(account.authToken)}`;
    await rest.setMessagingWebhook(number.sid, statusCallbackUrl);
    return { phoneNumberSid: number.sid, statusCallbackUrl };
  },
  async check(link, credentials, settings) {
    const account = credentials && accountOf(credentials);
    const { phoneNumber, statusCallbackUrl } = readChannelSettings(settings);
    if (!account || !phoneNumber)
      return [{ name: "credentials", ok: false, detail: "no readable account SID, auth token or phone number is stored" }];
    const rest = restOf(link, account);
    const number = await probe(
      "phone number",
      async () => {
        const found = await rest.findNumber(phoneNumber);
        if (!found) throw new Error(`${phoneNumber} is no longer a phone number of this Twilio account`);
        return `${found.phone_number}${found.friendly_name ? ` (${found.friendly_name})` : ""}`;
      },
      describeError,
    );
    if (!number.ok) return [number];
    const webhook = await probe(
      "messaging webhook",
      async () => {
        const found = await rest.findNumber(phoneNumber);
        if (!found?.sms_url || found.sms_url !== statusCallbackUrl)
          throw new Error("the number's incoming messages are not sent here; save the channel again to point them back");
        return "incoming messages are sent to this channel";
      },
      describeError,
    );
    return [number, webhook];
  },
  async disconnect(link, credentials, settings) {
    const account = accountOf(credentials);
    const { phoneNumberSid } = readChannelSettings(settings);
    if (!account || !phoneNumberSid) return false;
    return restOf(link, account)
      .setMessagingWebhook(phoneNumberSid, "")
      .then(() => true)
      .catch(() => false);
  },
  describeError,
};

function accountOf(credentials: Record<string, string>): TwilioAccount | undefined {
  const { accountSid, authToken } = credentials;
  return accountSid && authToken ? { accountSid, authToken } : undefined;
}

function restOf(link: ChannelLink, account: TwilioAccount): TwilioRest {
  return new TwilioRest(link.endpoints.twilioApiBase, account, link.fetch);
}
