import { z } from "zod";
import type { ChannelConnection } from "../adapter";
import { channelEmailAddress } from "./address";
import { emailSettings, readEmailSettings } from "./settings";

class EmailNotConfigured extends Error {}

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
  async connect(link) {
    if (!link.emailDomain) throw new EmailNotConfigured("this platform has no EMAIL_DOMAIN: email channels cannot receive mail");
    return {
      inboundAddress: await channelEmailAddress(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId }, link.emailDomain),
    };
  },
  async check(link, credentials, stored) {
    const settings = readEmailSettings(stored);
    return [
      link.emailDomain
        ? { name: "inbound address", ok: true, detail: `mail to ${await inboundAddressOf(link)} reaches the agent` }
        : { name: "inbound address", ok: false, detail: "this platform has no EMAIL_DOMAIN: no mail can reach the channel" },
      settings
        ? {
            name: "sender",
            ok: true,
            detail: `replies from ${settings.fromAddress} through ${settings.smtp.host}:${settings.smtp.port}${credentials?.smtpPassword ? " with a password" : " without a password"}`,
          }
        : { name: "sender", ok: false, detail: "the sender address or SMTP server is missing" },
    ];
  },
  publicFields: async (link) => (link.emailDomain ? { inboundAddress: await inboundAddressOf(link) } : {}),
  describeError: (error) => (error instanceof EmailNotConfigured ? error.message : undefined),
};

function inboundAddressOf(link: Parameters<ChannelConnection["connect"]>[0]): Promise<string> {
  return channelEmailAddress(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId }, link.emailDomain!);
}
