import { createTransport } from "nodemailer";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { PermanentSendError, type MailSender, type OutgoingMail, type SesAccount, type SmtpServer } from "../../core/channels/adapter";
import { checkedAddress, SafeFetchError, type SafeFetchOptions } from "../../core/http/safe-fetch";
import type { OutboundPolicy } from "../../core/http/url-policy";

/**
 * Email channels' replies, by the channel's route (core/channels/email/settings.ts `mailRouteOf`).
 *
 * Over the tenant's SMTP server (nodemailer) with the SSRF policy of tenant-defined HTTP: the host
 * must resolve to public addresses only (SMTP_ALLOWED_HOSTS names exceptions: the local stack's
 * loopback server), and the connection goes to the address checked, with TLS names checked against
 * the host. A 5xx answer (a refused sender or recipient, a failed login) can never succeed as it
 * is: the reply is recorded `failed` with the server's words; a 4xx or a network failure is retried
 * through the queue.
 *
 * Or through the tenant's Amazon SES account (nodemailer's SES transport on `@aws-sdk/client-sesv2`,
 * the raw message so our threading headers go as built): SES's own endpoint for the region, or
 * `sesApiBase` (the loopback fake). A 4xx other than throttling (an unverified sender, a sandboxed
 * recipient, a wrong key) fails the reply with SES's words; throttling and 5xx are retried.
 */
export function createMailSender(
  policy: OutboundPolicy,
  options: { resolve?: SafeFetchOptions["resolve"]; sesApiBase?: string | undefined } = {},
): MailSender {
  return (route, mail) =>
    route.transport === "ses" ? sendWithSes(route, mail, options.sesApiBase) : sendWithSmtp(route, mail, policy, options.resolve);
}

async function sendWithSmtp(
  server: SmtpServer,
  mail: OutgoingMail,
  policy: OutboundPolicy,
  resolve: SafeFetchOptions["resolve"] | undefined,
): Promise<{ messageId: string }> {
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
    await transport.sendMail(messageOf(mail));
    return { messageId: mail.messageId };
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
}

const RETRIED_SES_ERRORS = new Set(["TooManyRequestsException", "LimitExceededException", "ThrottlingException"]);

async function sendWithSes(account: SesAccount, mail: OutgoingMail, sesApiBase: string | undefined): Promise<{ messageId: string }> {
  const client = new SESv2Client({
    region: account.region,
    credentials: { accessKeyId: account.accessKeyId, secretAccessKey: account.secretAccessKey },
    ...(sesApiBase ? { endpoint: sesApiBase } : {}),
    // The queue retries; the SDK's own retries would hold the worker.
    maxAttempts: 1,
  });
  const transport = createTransport({ SES: { sesClient: client, SendEmailCommand } });
  try {
    const info = await transport.sendMail({
      ...messageOf(mail),
      ...(account.configurationSet ? { ses: { ConfigurationSetName: account.configurationSet } } : {}),
    });
    return { messageId: String(info.messageId).replace(/^<|>$/g, "") };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const name = (error as { name?: unknown }).name;
    if (typeof status === "number" && status >= 400 && status < 500 && status !== 429 && !RETRIED_SES_ERRORS.has(String(name))) {
      throw new PermanentSendError(`Amazon SES refused the reply: ${String(name)}: ${(error as Error).message}`.slice(0, 300));
    }
    throw error;
  } finally {
    client.destroy();
  }
}

function messageOf(mail: OutgoingMail) {
  return {
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
  };
}
