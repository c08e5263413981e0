import { and, eq } from "drizzle-orm";
import { TelegramBotApi } from "../../core/channels/telegram/bot-api";
import { WhatsAppGraphApi } from "../../core/channels/whatsapp/graph-api";
import { openCredentials } from "../../core/crypto/secrets";
import { extractText, IngestError, kindOfContentType } from "../../core/knowledge/parsers";
import type { Attachment, InboundChatMessage } from "../../core/queue/inbound-message";
import { channels, type Channel, type KnowledgeSourceKind } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import type { TurnDependencies } from "./turn";
import { sha256Hex } from "../../core/crypto/hmac";

/** Larger media are referenced, not downloaded (WhatsApp allows documents up to 100 MB; Telegram bots may fetch 20 MB). */
const MAX_DOWNLOAD_BYTES = 16 * 1024 * 1024;
/** The part of a document's text the agent reads; the rest is marked as cut. */
export const MAX_DOCUMENT_TEXT = 8_000;

type DocumentKind = Exclude<KnowledgeSourceKind, "url">;

/** Fetches one attachment's facts and, when worth it, its bytes. */
type MediaFetcher = (attachment: Attachment & { fileId: string }) => Promise<{ bytes?: Uint8Array; fileSize?: number; mimeType?: string }>;

/**
 * Media arrive as references; this resolves them through the channel's API before the turn:
 * - WhatsApp: `GET /<media-id>` then the download (SHA-256 checked), for type and size;
 * - Telegram: `getFile` and the file download, for documents (photos and voice already carry
 *   their size in the update).
 * A document the platform can read (PDF, DOCX, CSV, HTML, Markdown, text) has its text extracted
 * with the knowledge parsers and handed to the agent in a delimited block beside the caption, so
 * "what does this invoice say?" can be answered. A file that cannot be fetched or read keeps its
 * bare reference: the message is still answered. Other channels pass through.
 */
export async function resolveMedia(deps: TurnDependencies, message: InboundChatMessage): Promise<InboundChatMessage> {
  if (!message.attachments?.some((attachment) => worthFetching(message.channelKind, attachment))) return message;
  const [channel] = await withTenant(deps.db, message.tenantId, (tx) =>
    tx
      .select()
      .from(channels)
      .where(and(eq(channels.tenantId, message.tenantId), eq(channels.id, message.channelId))),
  );
  if (!channel?.credentials) return message;
  const fetchMedia = message.channelKind === "whatsapp" ? await whatsappFetcher(deps, channel) : await telegramFetcher(deps, channel);
  const attachments = await Promise.all(
    message.attachments.map(async (attachment): Promise<Attachment> => {
      if (!attachment.fileId || !worthFetching(message.channelKind, attachment)) return attachment;
      try {
        const fetched = await fetchMedia({ ...attachment, fileId: attachment.fileId });
        const resolved: Attachment = {
          ...attachment,
          ...(fetched.fileSize !== undefined ? { fileSize: fetched.fileSize } : {}),
          ...(fetched.mimeType ? { mimeType: fetched.mimeType.slice(0, 128) } : {}),
        };
        const text = fetched.bytes ? await documentText(resolved, fetched.bytes) : undefined;
        return text ? { ...resolved, text } : resolved;
      } catch (error) {
        deps.logger.log("warn", "turn.media_unavailable", {
          kind: attachment.kind,
          error: error instanceof Error ? error.name : "unknown",
        });
        return attachment;
      }
    }),
  );
  return { ...message, attachments };
}

async function whatsappFetcher(deps: TurnDependencies, channel: Channel): Promise<MediaFetcher> {
  const { accessToken } = await openCredentials<{ accessToken: string }>(
    deps.keyring,
    { tenantId: channel.tenantId, owner: `channel:${channel.id}` },
    channel.credentials!,
  );
  const api = new WhatsAppGraphApi({ apiBase: deps.whatsappApiBase, accessToken });
  return async (attachment) => {
    const info = await api.getMedia(attachment.fileId);
    const mimeType = info.mime_type;
    if (info.file_size !== undefined && info.file_size > MAX_DOWNLOAD_BYTES)
      return { fileSize: info.file_size, ...(mimeType ? { mimeType } : {}) };
    const bytes = await api.downloadMedia(info.url);
    if (info.sha256) {
      if ((await sha256Hex(bytes)) !== info.sha256.toLowerCase()) throw new Error("media checksum mismatch");
    }
    return { bytes, fileSize: bytes.length, ...(mimeType ? { mimeType } : {}) };
  };
}

async function telegramFetcher(deps: TurnDependencies, channel: Channel): Promise<MediaFetcher> {
  const { botToken } = await openCredentials<{ botToken: string }>(
    deps.keyring,
    { tenantId: channel.tenantId, owner: `channel:${channel.id}` },
    channel.credentials!,
  );
  const api = new TelegramBotApi({ apiBase: deps.telegramApiBase, token: botToken });
  return async (attachment) => {
    if (attachment.fileSize !== undefined && attachment.fileSize > MAX_DOWNLOAD_BYTES) return {};
    const file = await api.getFile(attachment.fileId);
    if (!file.file_path || (file.file_size ?? 0) > MAX_DOWNLOAD_BYTES)
      return file.file_size !== undefined ? { fileSize: file.file_size } : {};
    const bytes = await api.downloadFile(file.file_path, MAX_DOWNLOAD_BYTES);
    return { bytes, fileSize: bytes.length };
  };
}

/**
 * Whether an attachment is looked up at all, decided before the channel's credentials are read: any
 * WhatsApp media (the update carries only an id); on Telegram only readable documents (photos and
 * voice carry their size in the update, and only a document's text is of use to the agent).
 */
function worthFetching(channelKind: InboundChatMessage["channelKind"], attachment: Attachment): boolean {
  if (!attachment.fileId) return false;
  if (channelKind === "whatsapp") return true;
  return channelKind === "telegram" && documentKind(attachment) !== undefined;
}

/** The document's text for the agent, cut at {@link MAX_DOCUMENT_TEXT}; undefined when it has none or cannot be read. */
async function documentText(attachment: Attachment, bytes: Uint8Array): Promise<string | undefined> {
  const kind = documentKind(attachment);
  if (!kind) return undefined;
  try {
    const text = (await extractText(kind, bytes)).replace(/\n{3,}/g, "\n\n").trim();
    return text.length > MAX_DOCUMENT_TEXT
      ? `${text.slice(0, MAX_DOCUMENT_TEXT)}\n[… the rest of the document (${text.length - MAX_DOCUMENT_TEXT} more characters) is not shown]`
      : text;
  } catch (error) {
    if (error instanceof IngestError) return undefined;
    throw error;
  }
}

const EXTENSIONS: Record<string, DocumentKind> = {
  pdf: "pdf",
  docx: "docx",
  csv: "csv",
  html: "html",
  htm: "html",
  md: "markdown",
  markdown: "markdown",
  txt: "text",
};

/** A readable document kind from the MIME type, or the file name's extension when the type says nothing. */
function documentKind(attachment: Attachment): DocumentKind | undefined {
  if (attachment.kind !== "document") return undefined;
  const type = attachment.mimeType?.split(";")[0]?.trim().toLowerCase();
  if (type && type !== "application/octet-stream") return kindOfContentType(type);
  const extension = attachment.fileName?.split(".").at(-1)?.toLowerCase();
  return extension ? EXTENSIONS[extension] : undefined;
}
