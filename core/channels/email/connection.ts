import { z } from "zod";
import type { ChannelConnection } from "../adapter";
import { channelEmailAddress } from "./address";
import { emailSettings, readEmailSettings } from "./settings";
import { sesEndpointToken } from "./ses";

/**
 * Connecting an email channel gives it its inbound address (under EMAIL_DOMAIN, derived from the
 * signing key: core/channels/email/address.ts), stored beside the settings so the pool can name it
 * as `Reply-To`. SMTP cannot be reached from the edge; the pool checks the server (its address
 * against the SSRF policy) on every send, and a refusal shows on the channel as its last error.
 */
export const emailConnection: ChannelConnection = {
  connectFields: { settings: emailSettings, smtpPassword: z.string().min(1).max(512).optional() },
  credentialFields: ["smtpPassword"],
  credentialsOptional: true,
  keptFacts: ["inboundAddress"],
  // Without EMAIL_DOMAIN mail arrives only through Amazon SES (the channel's webhookUrl).
  connect: async (link) => (link.emailDomain ? { inboundAddress: await inboundAddressOf(link) } : {}),
  async check(link, credentials, stored) {
    const settings = readEmailSettings(stored);
    return [
      link.emailDomain
        ? { name: "inbound address", ok: true, detail: `mail to ${await inboundAddressOf(link)} reaches the agent` }
        : { name: "inbound address", ok: true, detail: "no EMAIL_DOMAIN here: mail reaches the channel through Amazon SES only" },
      settings
        ? {
            name: "sender",
            ok: true,
            detail: `replies from ${settings.fromAddress} through ${settings.smtp.host}:${settings.smtp.port}${credentials?.smtpPassword ? " with a password" : " without a password"}`,
          }
        : { name: "sender", ok: false, detail: "the sender address or SMTP server is missing" },
    ];
  },
  publicFields: async (link) => ({
    ...(link.emailDomain ? { inboundAddress: await inboundAddressOf(link) } : {}),
    // Amazon SES inbound: the endpoint to subscribe to the receipt rule's SNS topic.
    webhookUrl: `${link.webhookUrl}?token=${await sesEndpointToken(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId })}`,
  }),
  describeError: () => undefined,
};

function inboundAddressOf(link: Parameters<ChannelConnection["connect"]>[0]): Promise<string> {
  return channelEmailAddress(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId }, link.emailDomain!);
}
