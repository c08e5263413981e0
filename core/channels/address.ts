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

/** A uuid's text (any version): checked on every webhook, so a plain expression rather than a zod schema. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function formatChannelAddress(address: ChannelAddress): string {
  return `${address.tenantId}.${address.channelId}`;
}

/** Returns undefined for anything that is not two uuids joined by a dot. */
export function parseChannelAddress(text: string): ChannelAddress | undefined {
  const parts = text.split(".");
  if (parts.length !== 2) return undefined;
  const [tenantId, channelId] = parts;
  if (!UUID.test(tenantId!) || !UUID.test(channelId!)) return undefined;
  return { tenantId: tenantId!.toLowerCase(), channelId: channelId!.toLowerCase() };
}
