import { createTransport } from "nodemailer";
import { PermanentSendError, type MailSender } from "../../core/channels/adapter";
import { checkedAddress, SafeFetchError, type SafeFetchOptions } from "../../core/http/safe-fetch";
import type { OutboundPolicy } from "../../core/http/url-policy";

/**
 * Email channels' replies over the tenant's SMTP server (nodemailer), with the SSRF policy of
 * tenant-defined HTTP: the host must resolve to public addresses only (SMTP_ALLOWED_HOSTS names
 * exceptions: the local stack's loopback server), and the connection goes to the address checked,
 * with TLS names checked against the host. A 5xx answer (a refused sender or recipient, a failed
 * login) can never succeed as it is: the reply is recorded `failed` with the server's words; a 4xx
 * or a network failure is retried through the queue.
 */
export function createMailSender(policy: OutboundPolicy, resolve?: SafeFetchOptions["resolve"]): MailSender {
  return async (server, mail) => {
    let target: { address: string };
    try {
      target = await checkedAddress(server.host, server.port, policy, resolve);
    } catch (error) {
      if (error instanceof SafeFetchError && error.code !== "TIMEOUT") {
        throw new PermanentSendError(`the SMTP server ${server.host} is not allowed: ${error.message}`);
      }
      throw error;
    }
    const transport = createTransport({
      host: target.address,
      port: server.port,
      secure: server.secure,
      ...(server.username ? { auth: { user: server.username, pass: server.password ?? "" } } : {}),
      tls: { servername: server.host },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    try {
      await transport.sendMail({
        from: mail.from,
        to: mail.to,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: `<${mail.messageId}>`,
        ...(mail.inReplyTo ? { inReplyTo: `<${mail.inReplyTo}>` } : {}),
        ...(mail.references.length ? { references: mail.references.map((id) => `<${id}>`) } : {}),
        headers: mail.headers,
        // A reply bounces to the sender the tenant verified, where its mail provider handles it.
        envelope: { from: mail.from.address, to: [mail.to] },
      });
    } catch (error) {
      const responseCode = (error as { responseCode?: unknown }).responseCode;
      if (typeof responseCode === "number" && responseCode >= 500) {
        const response = String((error as { response?: unknown }).response ?? responseCode).slice(0, 300);
        throw new PermanentSendError(`the SMTP server refused the reply: ${response}`);
      }
      throw error;
    } finally {
      transport.close();
    }
  };
}
