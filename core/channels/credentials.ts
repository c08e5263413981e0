import { openCredentials, type Keyring } from "../crypto/secrets";
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
