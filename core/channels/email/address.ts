import { formatChannelAddress, type ChannelAddress } from "../address";
import { fromBase32, toBase32, toHex } from "../../crypto/encoding";
import { constantTimeEqual, hmacSha256 } from "../../crypto/hmac";

/**
 * A channel's inbound email address: `<52 characters>.<8 characters>@<EMAIL_DOMAIN>`. The first part
 * is the tenant's and the channel's uuids (32 bytes, base32, so a mail system that lower-cases
 * addresses changes nothing); the second an HMAC of the channel address under the signing key, so
 * the edge finds the channel and refuses a made-up address with no database round trip, as it does
 * for webhook secrets. 61 characters: within the 64 an address's local part may have. A
 * sub-address (`+anything`) is ignored, so tenants may tag the address in their own forwarding rules.
 */
const TAG_LENGTH = 8;
const PURPOSE = "email-inbound-address";

export async function channelEmailAddress(signingKey: string, address: ChannelAddress, domain: string): Promise<string> {
  const ids = new Uint8Array([...uuidBytes(address.tenantId), ...uuidBytes(address.channelId)]);
  return `${toBase32(ids)}.${await addressTag(signingKey, address)}@${domain.toLowerCase()}`;
}

export type RecipientCheck = { ok: true; address: ChannelAddress } | { ok: false; reason: "wrong_domain" | "unknown_address" };

/** The channel an inbound recipient names, checked; any other address is refused (it is not one of ours). */
export async function parseChannelEmailAddress(signingKey: string, recipient: string, domain: string): Promise<RecipientCheck> {
  const at = recipient.lastIndexOf("@");
  if (at < 0 || recipient.slice(at + 1).toLowerCase() !== domain.toLowerCase()) return { ok: false, reason: "wrong_domain" };
  const local = recipient.slice(0, at).toLowerCase().split("+")[0]!;
  const [encoded, tag, ...rest] = local.split(".");
  const bytes = encoded && encoded.length === 52 ? fromBase32(encoded) : undefined;
  if (!bytes || bytes.length !== 32 || !tag || rest.length) return { ok: false, reason: "unknown_address" };
  const address = { tenantId: uuidText(bytes.subarray(0, 16)), channelId: uuidText(bytes.subarray(16)) };
  if (!constantTimeEqual(await addressTag(signingKey, address), tag)) return { ok: false, reason: "unknown_address" };
  return { ok: true, address };
}

async function addressTag(signingKey: string, address: ChannelAddress): Promise<string> {
  const mac = await hmacSha256(signingKey, `${PURPOSE}\u0000${formatChannelAddress(address)}`);
  return toBase32(mac).slice(0, TAG_LENGTH);
}

export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, "");
  return new Uint8Array(hex.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

function uuidText(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
