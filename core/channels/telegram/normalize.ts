import type { ChannelAddress } from "../address";
import type { Attachment, InboundChatMessage } from "../../queue/inbound-message";
import { updateKind, type TelegramMessage, type TelegramUpdate } from "./update";
import { inboundChatMessage } from "../../queue/builders";

export type NormalizeResult = { handled: true; message: InboundChatMessage } | { handled: false; reason: string };

/**
 * Turns a Telegram update into the queue contract, or says why it is not handled:
 * - text, commands (`/start`, `/reset`, `/human`: the pool answers them), photos, documents, audio,
 *   voice, video, stickers and locations (the caption is the text; the file travels as a reference);
 * - group chats carry the mentions and the replied-to author, so the pool answers only when the bot
 *   is mentioned or replied to (it knows the bot's id and username; the edge has no database);
 * - edited messages are acknowledged and not answered, deliberately: the original was answered
 *   already, and answering the edit too would be a second reply to one question;
 * - messages from bots are ignored (no loops between bots).
 * The provider message id is the `update_id`, which Telegram keeps when it redelivers an update,
 * so a repeated update is stored and answered once.
 */
export function normalizeTelegramUpdate(address: ChannelAddress, update: TelegramUpdate, receivedAt: Date): NormalizeResult {
  const message = update.message;
  if (!message) return { handled: false, reason: `update:${updateKind(update)}` };
  if (message.from?.is_bot) return { handled: false, reason: "message:from_bot" };
  const text = message.text ?? message.caption ?? "";
  const attachments = attachmentsOf(message);
  if (text.trim() === "" && attachments.length === 0) return { handled: false, reason: "message:no_text" };

  const from = message.from;
  const displayName = from ? [from.first_name, from.last_name].filter(Boolean).join(" ") : message.chat.title;
  return {
    handled: true,
    message: inboundChatMessage(
      {
        tenantId: address.tenantId,
        channelId: address.channelId,
        channelKind: "telegram",
        conversationKey: String(message.chat.id),
        providerMessageId: String(update.update_id),
        sequence: update.update_id,
        receivedAt,
      },
      {
        text,
        sender: {
          id: String(from?.id ?? message.chat.id),
          ...(displayName ? { displayName: displayName.slice(0, 256) } : {}),
          ...(from?.username ? { username: from.username } : {}),
          ...(from?.language_code ? { languageCode: from.language_code } : {}),
        },
        sentAt: new Date(message.date * 1000).toISOString(),
        ...(attachments.length ? { attachments } : {}),
        ...(message.chat.type !== "private"
          ? {
              chat: {
                type: message.chat.type,
                mentions: mentionsOf(text, message.entities ?? message.caption_entities ?? []),
                ...(message.reply_to_message?.from ? { replyToSenderId: String(message.reply_to_message.from.id) } : {}),
              },
            }
          : {}),
      },
    ),
  };
}

function attachmentsOf(message: TelegramMessage): Attachment[] {
  const found: Attachment[] = [];
  const largest = message.photo?.at(-1);
  if (largest) found.push({ kind: "image", fileId: largest.file_id, ...(largest.file_size ? { fileSize: largest.file_size } : {}) });
  const files = [
    ["document", message.document],
    ["audio", message.audio],
    ["voice", message.voice],
    ["video", message.video],
    ["sticker", message.sticker],
  ] as const;
  for (const [kind, file] of files) {
    if (!file) continue;
    const name = "file_name" in file && typeof file.file_name === "string" ? file.file_name.slice(0, 512) : undefined;
    found.push({
      kind,
      fileId: file.file_id,
      ...(file.mime_type ? { mimeType: file.mime_type.slice(0, 128) } : {}),
      ...(name ? { fileName: name } : {}),
      ...(file.file_size ? { fileSize: file.file_size } : {}),
    });
  }
  if (message.location) found.push({ kind: "location", latitude: message.location.latitude, longitude: message.location.longitude });
  return found;
}

/** `@username` mentions and `/command@username` suffixes, lower case, without the `@`. */
function mentionsOf(text: string, entities: Array<{ type: string; offset: number; length: number }>): string[] {
  const names = new Set<string>();
  for (const entity of entities) {
    const slice = text.slice(entity.offset, entity.offset + entity.length);
    if (entity.type === "mention") names.add(slice.replace(/^@/, "").toLowerCase());
    if (entity.type === "bot_command") {
      const at = slice.indexOf("@");
      if (at > 0) names.add(slice.slice(at + 1).toLowerCase());
    }
  }
  return [...names].slice(0, 50).map((name) => name.slice(0, 64));
}
