import { PermanentSendError, type ChannelSender, type SenderDependencies } from "../adapter";
import { mailRouteOf, readEmailSettings } from "./settings";
import { renderReplyHtml } from "./render";
import { replyMessageId } from "./thread";
import { toBase32 } from "../../crypto/encoding";
import { uuidBytes } from "./address";

/** What an inbound email's stored sender carries for the reply (core/queue/inbound-message.ts `email`). */
interface ThreadFacts {
  subject?: string;
  messageId?: string;
  references?: string[];
  threadId?: string;
}

/**
 * Sends a reply as one email that threads in every client: `Re:` and the subject, `In-Reply-To`
 * the message answered, `References` the thread's ids with that one last, our own `Message-ID`
 * carrying the thread's name (core/channels/email/thread.ts), and `Auto-Submitted: auto-replied`
 * so other responders do not answer it (RFC 3834). Text and HTML (the Markdown rendered safely).
 * The Message-ID is the provider id recorded on the reply, which bounces are matched against.
 */
export function emailSender(deps: SenderDependencies): ChannelSender {
  return {
    async send(reply, progress) {
      if (reply.partsDelivered > 0) return;
      const settings = readEmailSettings(reply.channel.config);
      if (!settings)
        throw new PermanentSendError("the email channel's settings are incomplete: set the sender, and the SMTP server or SES account");
      if (!deps.sendMail) throw new PermanentSendError("this pool cannot send email");
      const to = reply.inboundSender?.id;
      if (!to || !to.includes("@")) throw new PermanentSendError("the conversation has no email address to reply to");
      const thread = (reply.inboundSender?.email ?? {}) as ThreadFacts;
      const domain = settings.fromAddress.split("@")[1]!;
      // An operator's message in a conversation with no stored thread starts one of its own.
      const threadId = thread.threadId ?? `r${toBase32(uuidBytes(reply.replyId))}`;
      const messageId = replyMessageId(threadId, reply.replyId, domain);
      const subject = thread.subject ?? "";
      const inboundAddress = typeof reply.channel.config?.inboundAddress === "string" ? reply.channel.config.inboundAddress : undefined;
      const route = mailRouteOf(settings, reply.credentials);
      if (typeof route === "string") throw new PermanentSendError(route);
      const sent = await deps.sendMail(route, {
        from: { address: settings.fromAddress, ...(settings.fromName ? { name: settings.fromName } : {}) },
        to,
        ...(inboundAddress ? { replyTo: inboundAddress } : {}),
        subject: /^re:/i.test(subject) ? subject : `Re: ${subject}`.trim(),
        text: reply.text,
        html: renderReplyHtml(reply.text),
        messageId,
        ...(thread.messageId ? { inReplyTo: thread.messageId } : {}),
        references: [...(thread.references ?? []), ...(thread.messageId ? [thread.messageId] : [])],
        headers: { "Auto-Submitted": "auto-replied" },
      });
      // SES replaces our Message-ID with its own: that one is what bounces and replies name.
      await progress.onPart(sent.messageId, { last: true });
    },
  };
}
