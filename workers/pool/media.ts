import { and, eq } from "drizzle-orm";
import { WhatsAppGraphApi } from "../../core/channels/whatsapp/graph-api";
import { openCredentials } from "../../core/crypto/secrets";
import type { InboundChatMessage } from "../../core/queue/inbound-message";
import { channels } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import type { TurnDependencies } from "./turn";

/** Larger media are referenced, not downloaded (WhatsApp allows documents up to 100 MB). */
const MAX_DOWNLOAD_BYTES = 16 * 1024 * 1024;

/**
 * WhatsApp media arrive as ids: this looks each up through the Graph API (`GET /<media-id>`),
 * downloads it, checks its SHA-256, and fills in type and size, so the agent reads e.g.
 * `[image: image/jpeg, 48213 bytes, file <id>]` beside the caption. A media object that cannot be
 * fetched keeps its bare reference (the message is still answered). Other channels pass through.
 */
export async function resolveMedia(deps: TurnDependencies, message: InboundChatMessage): Promise<InboundChatMessage> {
  if (message.channelKind !== "whatsapp" || !message.attachments?.some((a) => a.fileId)) return message;
  const [channel] = await withTenant(deps.db, message.tenantId, (tx) =>
    tx.select().from(channels).where(and(eq(channels.tenantId, message.tenantId), eq(channels.id, message.channelId))),
  );
  if (!channel?.credentials) return message;
  const { accessToken } = await openCredentials<{ accessToken: string }>(
    deps.keyring,
    { tenantId: channel.tenantId, owner: `channel:${channel.id}` },
    channel.credentials,
  );
  const api = new WhatsAppGraphApi({ apiBase: deps.whatsappApiBase ?? "https://graph.facebook.com/v21.0", accessToken });
  const attachments = await Promise.all(
    message.attachments.map(async (attachment) => {
      if (!attachment.fileId) return attachment;
      try {
        const info = await api.getMedia(attachment.fileId);
        if (info.file_size !== undefined && info.file_size > MAX_DOWNLOAD_BYTES) {
          return { ...attachment, fileSize: info.file_size, ...(info.mime_type ? { mimeType: info.mime_type } : {}) };
        }
        const bytes = await api.downloadMedia(info.url);
        if (info.sha256) {
          const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
          const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
          if (hex !== info.sha256.toLowerCase()) throw new Error("media checksum mismatch");
        }
        return { ...attachment, fileSize: bytes.length, ...(info.mime_type ? { mimeType: info.mime_type.slice(0, 128) } : {}) };
      } catch (error) {
        deps.logger.log("warn", "turn.media_unavailable", { kind: attachment.kind, error: error instanceof Error ? error.name : "unknown" });
        return attachment;
      }
    }),
  );
  return { ...message, attachments };
}
