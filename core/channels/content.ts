import type { Attachment, InboundChatMessage } from "../queue/inbound-message";
import type { ChannelSettings } from "./config";

/**
 * True when the bot should answer: always in private chats; in groups only when the message
 * mentions the bot's username (also `/command@bot`) or replies to one of the bot's messages.
 * A channel whose bot identity is unknown answers nothing in groups rather than everything.
 */
export function addressedToBot(message: InboundChatMessage, settings: Pick<ChannelSettings, "botId" | "botUsername">): boolean {
  const chat = message.chat;
  if (!chat || chat.type === "private") return true;
  const username = settings.botUsername?.toLowerCase();
  if (username && chat.mentions.includes(username)) return true;
  return settings.botId !== undefined && chat.replyToSenderId === String(settings.botId);
}

/**
 * True unless the event names a provider account that is not the channel's. One Meta app serves
 * every tenant, so a payload for another phone number of the same app can reach this channel's
 * webhook (a misconfigured subscription, a number moved between channels); answering it would
 * reply from the wrong number. Events that name no account are the channel's.
 */
export function addressedToChannel(
  message: Pick<InboundChatMessage, "accountId" | "channelKind">,
  settings: Pick<ChannelSettings, "phoneNumberId" | "phoneNumber">,
): boolean {
  if (message.accountId === undefined) return true;
  // WhatsApp names the Cloud API number id; SMS the Twilio number texted (`To`).
  if (message.channelKind === "whatsapp") return message.accountId === settings.phoneNumberId;
  if (message.channelKind === "sms") return message.accountId === settings.phoneNumber;
  return true;
}

/**
 * The stored text of an inbound message, as the agent reads it: the text or caption (without the
 * `@bot` mention that addressed it in a group), then one line per attachment naming the file
 * reference, so the agent knows a photo or document came and can refer to it.
 */
export function inboundContent(message: InboundChatMessage, settings: Pick<ChannelSettings, "botUsername"> = {}): string {
  let text = message.text;
  if (message.chat && settings.botUsername) {
    const escaped = settings.botUsername.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    text = text.replace(new RegExp(`(^|\\s)@${escaped}\\b`, "gi"), "$1").trim();
    // `/start@bot` keeps working as a command.
    text = text.replace(new RegExp(`^(/[A-Za-z0-9_]+)@${escaped}\\b`, "i"), "$1");
  }
  const lines = (message.attachments ?? []).flatMap((attachment) => [describeAttachment(attachment), ...documentBlock(attachment)]);
  return [text, ...lines].filter((line) => line.trim() !== "").join("\n");
}

/**
 * A document's text, delimited and labelled, after its description line. Tags inside the text are
 * neutralised so a document cannot close its block and pose as the person's own words.
 */
function documentBlock(attachment: Attachment): string[] {
  if (!attachment.text?.trim()) return [];
  const neutral = (value: string) => value.replace(/<\/?\s*document[^>]*>/gi, "[tag removed]");
  const name = neutral(attachment.fileName ?? attachment.kind).replace(/"/g, "'");
  return [`<document name="${name}">`, neutral(attachment.text), "</document>"];
}

export function describeAttachment(attachment: Attachment): string {
  if (attachment.kind === "location") {
    const place = [attachment.name, attachment.address].filter(Boolean).join(", ");
    return `[location: ${attachment.latitude}, ${attachment.longitude}${place ? ` (${place})` : ""}]`;
  }
  const facts = [
    attachment.fileName,
    attachment.mimeType,
    attachment.fileSize !== undefined ? `${attachment.fileSize} bytes` : undefined,
    attachment.fileId ? `file ${attachment.fileId}` : undefined,
  ].filter(Boolean);
  return `[${attachment.kind}${facts.length ? `: ${facts.join(", ")}` : ""}]`;
}

/** Telegram's `/start` (with an optional deep-link payload or `@bot` suffix). */
export function isStartCommand(text: string): boolean {
  return /^\/start(?:@[A-Za-z0-9_]+)?(?:\s+\S*)?\s*$/i.test(text.trim());
}

/**
 * Markdown images (`![alt](url)`) and HTML `<img>` tags out of a reply: plain text shows them as
 * raw URLs a client may still fetch or preview; what the alt text says stays. Applied to replies
 * before Telegram and to tool results before the model reads them.
 */
export function withoutImages(text: string): string {
  return text
    .replace(/!\[([^\]\n]{0,500})\]\([^)\s]{0,2048}(?:\s+"[^"\n]{0,500}")?\)/g, (_match, alt: string) => alt.trim())
    .replace(/<img\b[^>]{0,4096}>/gi, "")
    .trim();
}

/** A reply without image markup; one that was nothing but an image still says something. */
export function replyWithoutImages(text: string): string {
  return withoutImages(text) || (text.trim() ? "[image]" : text);
}
