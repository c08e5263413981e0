import { decryptSecret, encryptSecret, openCredentials, type Keyring } from "../crypto/secrets";
import { webhookSecretOwner } from "../integrations/types";
import type { ChannelAddress } from "./address";
import type { Channel } from "../../db/schema";

/** A channel's secrets are sealed bound to its tenant and `channel:<id>`, so a row copied elsewhere cannot be opened. */
export const channelSecretContext = (channel: Pick<Channel, "tenantId" | "id">) => ({
  tenantId: channel.tenantId,
  owner: `channel:${channel.id}`,
});

/** The channel's opened credentials (bot token, access token), or undefined when it has none. */
export async function openChannelCredentials(
  keyring: Keyring,
  channel: Pick<Channel, "tenantId" | "id" | "credentials">,
): Promise<Record<string, string> | undefined> {
  if (!channel.credentials) return undefined;
  return openCredentials<Record<string, string>>(keyring, channelSecretContext(channel), channel.credentials);
}

/** A webhook secret sealed into the channel's webhook URL is bound to its tenant and `<kind>-webhook:<channel>`. */
const webhookSealContext = (kind: string, address: ChannelAddress) => ({
  tenantId: address.tenantId,
  owner: webhookSecretOwner(kind, address.channelId),
});

/** Seals a provider-made webhook secret for the channel's webhook URL (`ChannelLink.seal`). */
export function sealWebhookSecret(keyring: Keyring, kind: string, address: ChannelAddress, secret: string): Promise<string> {
  return encryptSecret(keyring, webhookSealContext(kind, address), secret);
}

/** The secret sealed into a webhook URL's `s`, or undefined when it is missing, too long or not ours. */
export async function openWebhookSeal(
  keyring: Keyring,
  kind: string,
  address: ChannelAddress,
  sealed: string | null,
): Promise<string | undefined> {
  if (!sealed || sealed.length > 1024) return undefined;
  return decryptSecret(keyring, webhookSealContext(kind, address), sealed).catch(() => undefined);
}
