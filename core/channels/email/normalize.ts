import PostalMime, { type Address, type Email, type Mailbox } from "postal-mime";
import { convert as htmlToText } from "html-to-text";
import type { ChannelAddress } from "../address";
import type { NormalizedPayload } from "../adapter";
import type { Attachment } from "../../queue/inbound-message";
import { deliveryStatusMessage, inboundChatMessage } from "../../queue/builders";
import { sha256Hex } from "../../crypto/hmac";
import { stripQuotedReply } from "./quotes";
import { conversationKeyOf, messageIdList, threadIdOf } from "./thread";

/** The largest message accepted (Cloudflare Email Routing takes up to 25 MiB). */
export const MAX_EMAIL_BYTES = 20 * 1024 * 1024;
/** The text one message gives the agent; the rest is cut with a note. */
const TEXT_LIMIT = 32_000;
const MAX_ATTACHMENTS = 10;
/** Ids kept for `References`: the thread's root and the most recent ones (RFC 5322 §3.6.4 allows trimming the middle). */
const MAX_REFERENCES = 10;

export interface InboundEmail {
  address: ChannelAddress;
  raw: Uint8Array;
  receivedAt: Date;
  /** The edge's EMAIL_DOMAIN: mail from it is our own (a reply of ours come back), never answered. */
  ownDomain?: string | undefined;
}

/**
 * One inbound email as queue messages, or the reason it is not answered:
 * - a person's message becomes an `inbound.message` with the new text only (the `text/plain`
 *   part, else the HTML as text; quoted history and signature removed), the subject and thread ids
 *   (`email`), attachments described by name, type and size;
 * - a delivery status notification about one of our replies becomes a `delivery.status` `failed`
 *   for it (shown on the reply in the inbox);
 * - automatic mail is never answered, so two auto-responders cannot loop: `Auto-Submitted` other
 *   than `no`, `Precedence: bulk/list/junk`, `X-Autoreply`/`X-Autorespond`, mailer-daemon and
 *   postmaster senders, and mail from our own domain;
 * - the provider message id is the `Message-ID` (a hash of it above 128 characters), or a hash of
 *   the raw message when it has none, so a redelivered mail is answered once.
 */
export async function normalizeEmail(input: InboundEmail): Promise<NormalizedPayload> {
  const mail = await PostalMime.parse(input.raw, { maxNestingDepth: 50 });
  const header = (name: string) => mail.headers.find((h) => h.key === name)?.value.trim();
  const from = firstMailbox(mail.from);
  const fromAddress = from?.address?.toLowerCase() ?? "";
  const ownId = bareId(mail.messageId);
  const rawHash = ownId ? undefined : await sha256Hex(input.raw);
  // Without a Message-ID the message's bytes name it: a redelivery is the same bytes.
  const messageId = ownId ?? `${rawHash}@hash.invalid`;
  const providerMessageId = rawHash ? `h:${rawHash}` : await providerIdOf(messageId);
  const envelope = {
    tenantId: input.address.tenantId,
    channelId: input.address.channelId,
    channelKind: "email" as const,
    providerMessageId,
    receivedAt: input.receivedAt,
  };

  if (isDeliveryReport(mail, fromAddress)) {
    const failed = await failedDelivery(mail);
    if (!failed) return { messages: [], ignored: ["email:delivery_report_unmatched"] };
    return {
      messages: [
        deliveryStatusMessage(
          { ...envelope, conversationKey: `dsn.${providerMessageId}`.slice(0, 128) },
          {
            outboundProviderMessageId: failed.messageId.slice(0, 256),
            status: "failed",
            error: failed.reason,
            at: input.receivedAt.toISOString(),
          },
        ),
      ],
      ignored: [],
    };
  }
  const automatic = automaticReason(header, fromAddress, input.ownDomain);
  if (automatic) return { messages: [], ignored: [automatic] };
  if (!fromAddress.includes("@")) return { messages: [], ignored: ["email:no_sender"] };

  const references = messageIdList(mail.references);
  const inReplyTo = messageIdList(mail.inReplyTo)[0];
  const threadId = await threadIdOf({ messageId, inReplyTo, references });
  const subject = oneLine(mail.subject ?? "").slice(0, 998);
  const { attachments, ...body } = bodyOf(mail);
  let { text } = body;
  if (text === "" && attachments.length === 0) text = subject;
  if (text === "" && attachments.length === 0) return { messages: [], ignored: ["email:empty"] };

  const sentAt = mail.date && !Number.isNaN(Date.parse(mail.date)) ? new Date(mail.date) : input.receivedAt;
  return {
    messages: [
      inboundChatMessage(
        { ...envelope, conversationKey: await conversationKeyOf(fromAddress, threadId) },
        {
          text,
          sender: { id: fromAddress.slice(0, 128), ...(from?.name ? { displayName: oneLine(from.name).slice(0, 256) } : {}) },
          sentAt: sentAt.toISOString(),
          ...(attachments.length ? { attachments } : {}),
          email: {
            subject,
            messageId: messageId.slice(0, 998),
            references: trimReferences([...references, ...(inReplyTo && !references.includes(inReplyTo) ? [inReplyTo] : [])]),
            threadId,
          },
        },
      ),
    ],
    ignored: [],
  };
}

/** What the agent reads of a message: its text (quoted history gone, cut at the limit) and its attachments as references. */
function bodyOf(mail: Email): { text: string; attachments: Attachment[] } {
  const text = stripQuotedReply(bodyText(mail));
  return {
    text: text.length > TEXT_LIMIT ? `${text.slice(0, TEXT_LIMIT)}\n[… the rest of this email was cut]` : text,
    attachments: attachmentsOf(mail),
  };
}

/**
 * {@link bodyOf} a whole message's bytes (the mail SES stored in S3, read by the pool), with each
 * attachment's content, for the pool to read the documents among them as it reads other channels'.
 */
export async function readEmailBody(raw: Uint8Array): Promise<{ text: string; attachments: Array<Attachment & { bytes: Uint8Array }> }> {
  const mail = await PostalMime.parse(raw, { maxNestingDepth: 50 });
  const contents = attachedParts(mail).map((part) =>
    typeof part.content === "string" ? new TextEncoder().encode(part.content) : new Uint8Array(part.content),
  );
  const { text, attachments } = bodyOf(mail);
  return { text, attachments: attachments.map((attachment, index) => ({ ...attachment, bytes: contents[index]! })) };
}

function firstMailbox(address: Address | undefined): Mailbox | undefined {
  if (!address) return undefined;
  return address.group ? address.group[0] : address;
}

function bareId(id: string | undefined): string | undefined {
  return id ? messageIdList(id)[0] : undefined;
}

/** The queue's deduplication id allows 128 characters of a narrow set: longer or odd ids are hashed. */
async function providerIdOf(messageId: string): Promise<string> {
  return messageId.length <= 120 && /^[\x21-\x7e]+$/.test(messageId) ? messageId : `h:${await sha256Hex(messageId)}`;
}

/** Headers have no line breaks once decoded; anything else (a folded or injected header) is flattened. */
function oneLine(text: string): string {
  // Control characters (line breaks above all) become spaces: no header can be smuggled into ours.
  const flat = Array.from(text, (char) => (char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f ? " " : char)).join("");
  return flat.replace(/ {2,}/g, " ").trim();
}

function bodyText(mail: Email): string {
  if (mail.text && mail.text.trim() !== "") return mail.text;
  if (mail.html) return htmlToText(mail.html, { wordwrap: false, selectors: [{ selector: "img", format: "skip" }] });
  return "";
}

/** The parts that are attachments (not inline images of the HTML), at most {@link MAX_ATTACHMENTS}. */
function attachedParts(mail: Email): Email["attachments"] {
  return mail.attachments.filter((part) => part.disposition === "attachment" || (part.filename && !part.related)).slice(0, MAX_ATTACHMENTS);
}

function attachmentsOf(mail: Email): Attachment[] {
  return attachedParts(mail).map((part) => ({
    kind: attachmentKind(part.mimeType),
    mimeType: part.mimeType.slice(0, 128),
    ...(part.filename ? { fileName: oneLine(part.filename).slice(0, 512) } : {}),
    fileSize: typeof part.content === "string" ? part.content.length : part.content.byteLength,
  }));
}

function attachmentKind(mimeType: string): Attachment["kind"] {
  if (mimeType.startsWith("image/")) return "image";
  if (mimeType.startsWith("audio/")) return "audio";
  if (mimeType.startsWith("video/")) return "video";
  return "document";
}

function trimReferences(ids: string[]): string[] {
  const kept = ids.length <= MAX_REFERENCES ? ids : [ids[0]!, ...ids.slice(-(MAX_REFERENCES - 1))];
  return kept.map((id) => id.slice(0, 998));
}

const AUTOMATIC_SENDERS = ["mailer-daemon", "postmaster"];

function automaticReason(
  header: (name: string) => string | undefined,
  fromAddress: string,
  ownDomain: string | undefined,
): string | undefined {
  const autoSubmitted = header("auto-submitted")?.toLowerCase();
  if (autoSubmitted && autoSubmitted !== "no") return "email:auto_submitted";
  const precedence = header("precedence")?.toLowerCase();
  if (precedence && ["bulk", "list", "junk", "auto_reply"].includes(precedence)) return "email:bulk";
  if (header("x-autoreply") !== undefined || header("x-autorespond") !== undefined) return "email:auto_reply";
  const local = fromAddress.split("@")[0] ?? "";
  if (AUTOMATIC_SENDERS.includes(local)) return "email:mailer_daemon";
  if (ownDomain && fromAddress.endsWith(`@${ownDomain.toLowerCase()}`)) return "email:own_address";
  return undefined;
}

function isDeliveryReport(mail: Email, fromAddress: string): boolean {
  const contentType = mail.headers.find((h) => h.key === "content-type")?.value.toLowerCase() ?? "";
  if (contentType.startsWith("multipart/report") && contentType.includes("delivery-status")) return true;
  return (
    AUTOMATIC_SENDERS.includes(fromAddress.split("@")[0] ?? "") &&
    mail.attachments.some((part) => part.mimeType === "message/delivery-status")
  );
}

/** The reply a bounce is about (its `Message-ID` in the returned headers) and why it failed. */
async function failedDelivery(mail: Email): Promise<{ messageId: string; reason: string } | undefined> {
  const part = (type: string) => {
    const found = mail.attachments.find((attachment) => attachment.mimeType === type);
    if (!found) return undefined;
    return typeof found.content === "string" ? found.content : new TextDecoder().decode(found.content);
  };
  const status = part("message/delivery-status") ?? "";
  const action = /^Action:\s*(\S+)/im.exec(status)?.[1]?.toLowerCase();
  if (action && action !== "failed") return undefined;
  const returned = part("text/rfc822-headers") ?? part("message/rfc822") ?? part("message/rfc822-headers") ?? "";
  const messageId = bareId(/^Message-ID:\s*(<[^>\r\n]+>)/im.exec(returned)?.[1]) ?? messageIdList(mail.inReplyTo)[0];
  if (!messageId) return undefined;
  const diagnostic =
    /^Diagnostic-Code:\s*(.+)$/im.exec(status)?.[1] ?? /^Status:\s*(\S+)/im.exec(status)?.[1] ?? "the recipient's server refused it";
  return { messageId, reason: `bounced: ${oneLine(diagnostic)}`.slice(0, 500) };
}
