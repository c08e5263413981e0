import { z } from "zod";

/**
 * A channel's webhook address: `<tenant uuid>.<channel uuid>`, the `:channelId` segment of
 * `/webhooks/<kind>/:channelId`. Carrying the tenant in the address lets the edge build a
 * tenant-scoped queue message with no database round trip; the webhook secret is derived from the
 * whole address, so neither half can be swapped without failing verification, and the pool still
 * loads the channel under the tenant's row-level security.
 */
export interface ChannelAddress {
  tenantId: string;
  channelId: string;
}

const uuid = z.uuid();

export function formatChannelAddress(address: ChannelAddress): string {
  return `${address.tenantId}.${address.channelId}`;
}

/** Returns undefined for anything that is not two uuids joined by a dot. */
export function parseChannelAddress(text: string): ChannelAddress | undefined {
  const parts = text.split(".");
  if (parts.length !== 2) return undefined;
  const [tenantId, channelId] = parts;
  if (!uuid.safeParse(tenantId).success || !uuid.safeParse(channelId).success) return undefined;
  return { tenantId: tenantId!.toLowerCase(), channelId: channelId!.toLowerCase() };
}
