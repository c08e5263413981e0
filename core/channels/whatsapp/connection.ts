import { z } from "zod";
import type { ChannelConnection, ChannelLink } from "../adapter";
import { probe } from "../checks";
import { readChannelSettings, whatsappSettings } from "../config";
import { GraphApiError, WhatsAppGraphApi } from "./graph-api";
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
    const phoneNumberId = readChannelSettings(settings).phoneNumberId;
    if (credentials.accessToken && phoneNumberId) await graph(link, credentials.accessToken).getPhoneNumber(phoneNumberId);
    return {};
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
