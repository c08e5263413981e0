import { z } from "zod";
import type { ChannelConnection } from "../adapter";
import { channelEmailAddress } from "./address";
import { describeMailRoute, emailSettings, mailRouteOf, readEmailSettings } from "./settings";
import { sesEndpointToken } from "./ses";

/**
 * Connecting an email channel gives it its inbound address (under EMAIL_DOMAIN, derived from the
 * signing key: core/channels/email/address.ts), stored beside the settings so the pool can name it
 * as `Reply-To`. SMTP cannot be reached from the edge; the pool checks the server (its address
 * against the SSRF policy) on every send, and a refusal shows on the channel as its last error.
 */
export const emailConnection: ChannelConnection = {
  connectFields: {
    settings: emailSettings,
    smtpPassword: z.string().min(1).max(512).optional(),
    awsAccessKeyId: z
      .string()
      .regex(/^[A-Z0-9]{16,128}$/, "an AWS access key id such as AKIA…")
      .optional(),
    awsSecretAccessKey: z.string().min(16).max(256).optional(),
  },
  credentialFields: ["smtpPassword", "awsAccessKeyId", "awsSecretAccessKey"],
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
        ? senderCheck(settings.fromAddress, mailRouteOf(settings, credentials))
        : { name: "sender", ok: false, detail: "the sender address, or the SMTP server or SES account, is missing" },
    ];
  },
  publicFields: async (link) => ({
    ...(link.emailDomain ? { inboundAddress: await inboundAddressOf(link) } : {}),
    // Amazon SES inbound: the endpoint to subscribe to the receipt rule's SNS topic.
    webhookUrl: `${link.webhookUrl}?token=${await sesEndpointToken(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId })}`,
  }),
  describeError: () => undefined,
};

function senderCheck(fromAddress: string, route: ReturnType<typeof mailRouteOf>) {
  return { name: "sender", ok: typeof route !== "string", detail: `replies from ${fromAddress} through ${describeMailRoute(route)}` };
}

function inboundAddressOf(link: Parameters<ChannelConnection["connect"]>[0]): Promise<string> {
  return channelEmailAddress(link.signingKey, { tenantId: link.tenantId, channelId: link.channelId }, link.emailDomain!);
}
