import { sha256Hex } from "../../crypto/hmac";
import { toBase32 } from "../../crypto/encoding";

/**
 * One conversation per email thread and correspondent, found with no database round trip:
 * - the thread is named by its root, the first id in `References` (every client keeps it; our
 *   replies carry the root first), else `In-Reply-To`, else the message's own id (a new thread);
 * - our own Message-IDs (`<r….<reply id>@domain>`) carry the thread's name, so a client that keeps
 *   only `In-Reply-To` (some Outlook versions) still lands in the same conversation;
 * - the conversation key hashes the thread with the sender's address: anyone who learns a thread's
 *   ids (they travel in every copy of the mail) and writes from another address gets a conversation
 *   of their own, never the agent's memory of someone else's. A forged `From:` only sends the
 *   reply to the real owner of that address.
 */
export async function threadIdOf(ids: { messageId: string; inReplyTo: string | undefined; references: string[] }): Promise<string> {
  const root = ids.references[0] ?? ids.inReplyTo;
  if (root) return ourThreadId(root) ?? (await hashedThread(root));
  return hashedThread(ids.messageId);
}

export async function conversationKeyOf(senderAddress: string, threadId: string): Promise<string> {
  return `e${(await sha256Hex(`${senderAddress.toLowerCase()}\n${threadId}`)).slice(0, 40)}`;
}

/** The Message-ID of one of our replies (without angle brackets): the thread's name, the reply's id. */
export function replyMessageId(threadId: string, replyId: string, domain: string): string {
  return `${threadId}.${replyId}@${domain}`;
}

const OURS = /^(r[a-z2-7]{26})\.[0-9a-f-]{36}@/;

function ourThreadId(messageId: string): string | undefined {
  return OURS.exec(messageId)?.[1];
}

async function hashedThread(messageId: string): Promise<string> {
  const digest = await sha256Hex(messageId);
  const bytes = new Uint8Array(
    digest
      .match(/../g)!
      .slice(0, 17)
      .map((pair) => parseInt(pair, 16)),
  );
  return `r${toBase32(bytes).slice(0, 26)}`;
}

/** `<a@b> <c@d>` (or comma- or space-separated, as clients write them) as bare ids. */
export function messageIdList(header: string | undefined): string[] {
  if (!header) return [];
  const bracketed = [...header.matchAll(/<([^<>\s]{1,998})>/g)].map((match) => match[1]!);
  if (bracketed.length) return bracketed;
  return header.split(/[\s,]+/).filter((id) => id.includes("@") && id.length <= 998);
}
