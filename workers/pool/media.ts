import type { ChannelMedia } from "../../core/channels/adapter";
import { channelAdapter } from "../../core/channels/registry";
import { extractText, IngestError, kindOfContentType } from "../../core/knowledge/parsers";
import type { Attachment, InboundChatMessage } from "../../core/queue/inbound-message";
import type { KnowledgeSourceKind } from "../../db/schema";
import type { TurnChannel } from "./turn/context";
import type { TurnDependencies } from "./turn/types";

/** Larger media are referenced, not downloaded (WhatsApp allows documents up to 100 MB; Telegram bots may fetch 20 MB). */
const MAX_DOWNLOAD_BYTES = 16 * 1024 * 1024;
/** The part of a document's text the agent reads; the rest is marked as cut. */
export const MAX_DOCUMENT_TEXT = 8_000;

type DocumentKind = Exclude<KnowledgeSourceKind, "url">;

/**
 * Media arrive as references; this resolves them through the channel's API (its adapter's
 * `media`: WhatsApp looks every medium up, Telegram only documents) before the turn. A document the
 * platform can read (PDF, DOCX, CSV, HTML, Markdown, text) has its text extracted with the
 * knowledge parsers and handed to the agent in a delimited block beside the caption, so "what does
 * this invoice say?" can be answered. A file that cannot be fetched or read keeps its bare
 * reference: the message is still answered. A reference to the message itself (an email SES
 * stored in S3: the adapter's `inline`) is replaced by the message's text and attachments. Other
 * channels pass through.
 */
export async function resolveMedia(deps: TurnDependencies, on: TurnChannel, message: InboundChatMessage): Promise<InboundChatMessage> {
  const media = channelAdapter(message.channelKind)?.media;
  if (!media || !message.attachments) return message;
  const credentials = await on.credentials();
  if (!credentials) return message;
  const fetchMedia = media.fetcher(credentials, deps, MAX_DOWNLOAD_BYTES);
  let inlined: { text: string; attachments: Array<Attachment & { bytes?: Uint8Array }> } | undefined;
  const attachments = await Promise.all(
    message.attachments.map(async (attachment): Promise<Attachment | undefined> => {
      if (!attachment.fileId || !worthFetching(media, attachment)) return attachment;
      try {
        const fetched = await fetchMedia({ ...attachment, fileId: attachment.fileId });
        const resolved: Attachment = {
          ...attachment,
          ...(fetched.fileSize !== undefined ? { fileSize: fetched.fileSize } : {}),
          ...(fetched.mimeType ? { mimeType: fetched.mimeType.slice(0, 128) } : {}),
        };
        // The message itself (an email SES stored in S3): its body takes the place of the reference.
        const body = fetched.bytes ? await media.inline?.(resolved, fetched.bytes) : undefined;
        if (body) {
          inlined = body;
          return undefined;
        }
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
  const kept = attachments.filter((attachment): attachment is Attachment => attachment !== undefined);
  if (!inlined) return { ...message, attachments: kept };
  // The message's own attachments came with it: the documents among them are read as fetched ones are.
  const contained = await Promise.all(
    inlined.attachments.map(async ({ bytes, ...attachment }): Promise<Attachment> => {
      const text = bytes && bytes.length <= MAX_DOWNLOAD_BYTES ? await documentText(attachment, bytes) : undefined;
      return text ? { ...attachment, text } : attachment;
    }),
  );
  const merged = [...kept, ...contained];
  return {
    ...message,
    text: inlined.text || message.text,
    ...(merged.length ? { attachments: merged } : { attachments: undefined }),
  };
}

/** Whether any attachment is worth looking up: decided from the message alone, before the channel is read twice or its credentials opened. */
export function needsMedia(message: InboundChatMessage): boolean {
  const media = channelAdapter(message.channelKind)?.media;
  return Boolean(media && message.attachments?.some((attachment) => worthFetching(media, attachment)));
}

function worthFetching(media: ChannelMedia, attachment: Attachment): boolean {
  if (!attachment.fileId) return false;
  return media.lookUp === "every" || documentKind(attachment) !== undefined;
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
