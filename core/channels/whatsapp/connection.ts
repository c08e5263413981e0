import { z } from "zod";
import type { ChannelConnection, ChannelLink } from "../adapter";
import { probe } from "../checks";
import { readChannelSettings, whatsappSettings } from "../config";
import { GraphApiError, WhatsAppGraphApi } from "./graph-api";
import { summarizeTemplate, templateMismatch } from "./templates";
import { whatsappVerifyToken } from "./signature";

export const whatsappAccessToken = z
  .string()
  .min(20)
  .max(1024)
  .regex(/^[A-Za-z0-9_.|-]+$/, "a WhatsApp Cloud API access token");

const describeError = (error: unknown) =>
  error instanceof GraphApiError
    ? `WhatsApp answered ${error.status}${error.errorCode ? ` (${error.errorCode})` : ""}: ${error.description}`.slice(0, 300)
    : undefined;

/**
 * A Cloud API access token and the phone number id: connecting (and changing the settings) checks
 * the number with the token. The webhook URL and the verify token go in the platform's Meta app.
 */
export const whatsappConnection: ChannelConnection = {
  connectFields: { accessToken: whatsappAccessToken, settings: whatsappSettings },
  credentialFields: ["accessToken"],
  recheckSettings: true,
  async connect(link, credentials, settings) {
    const { phoneNumberId, businessAccountId, template } = readChannelSettings(settings);
    if (!credentials.accessToken) return {};
    const api = graph(link, credentials.accessToken);
    if (phoneNumberId) await api.getPhoneNumber(phoneNumberId);
    // A template that would be refused outside the window is refused now, while someone is looking.
    if (template && businessAccountId) {
      const mismatch = templateMismatch(template, (await api.listTemplates(businessAccountId)).map(summarizeTemplate));
      if (mismatch) throw new Error(mismatch);
    }
    return {};
  },
  async templates(link, credentials, settings) {
    const { businessAccountId } = readChannelSettings(settings);
    if (!businessAccountId) throw new Error("set the channel's businessAccountId (the WhatsApp Business Account id) to list its templates");
    if (!credentials.accessToken) throw new Error("no readable access token is stored");
    return (await graph(link, credentials.accessToken).listTemplates(businessAccountId)).map(summarizeTemplate);
  },
  async check(link, credentials, settings) {
    const phoneNumberId = readChannelSettings(settings).phoneNumberId;
    if (!credentials?.accessToken || !phoneNumberId) {
      return [{ name: "credentials", ok: false, detail: "no readable access token or phone number id is stored" }];
    }
    const accessToken = credentials.accessToken;
    return [
      await probe(
        "phone number",
        async () => {
          const number = await graph(link, accessToken).getPhoneNumber(phoneNumberId);
          return `${number.display_phone_number ?? number.id}${number.verified_name ? ` (${number.verified_name})` : ""}`;
        },
        describeError,
      ),
    ];
  },
  publicFields: async (link) => ({
    verifyToken: await whatsappVerifyToken(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId }),
  }),
  describeError,
};

function graph(link: ChannelLink, accessToken: string): WhatsAppGraphApi {
  return new WhatsAppGraphApi({ apiBase: link.endpoints.whatsappApiBase, accessToken, ...(link.fetch ? { fetch: link.fetch } : {}) });
}
