import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startFakeSmtp, type ReceivedMail } from "../../test/fakes/smtp";

/** The local stack's mail domain: email channels' inbound addresses are under it (the edge's EMAIL_DOMAIN). */
export const LOCAL_EMAIL_DOMAIN = "mail.agents.localhost";

export interface LocalMail {
  host: string;
  port: number;
  domain: string;
  /** Where mail for other domains (the agents' replies) is written, one `.eml` file each (`npm run mail` reads them). */
  outboxDir: string;
  /** Mail for other domains, oldest first. */
  outbox(): ReceivedMail[];
  /** From now on, mail for the domain goes to this edge's `email()` handler. */
  forwardTo(edgeUrl: string): void;
  stop(): Promise<void>;
}

class SmtpAnswer extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One loopback SMTP server standing in for both ends of email: mail for {@link LOCAL_EMAIL_DOMAIN}
 * enters the edge's `email()` handler the way Cloudflare Email Routing delivers it (wrangler's
 * `/cdn-cgi/handler/email`, the same handler and intake as production), and the handler's refusal
 * becomes the SMTP answer (550 with its reason; 451 when the edge cannot take it, so a client
 * retries); mail for any other domain (the agents' replies, sent by the pool over SMTP as to a
 * tenant's provider) is caught and kept in the outbox.
 */
export async function startLocalMail(options: { port?: number; dataDir: string; domain?: string }): Promise<LocalMail> {
  const domain = options.domain ?? LOCAL_EMAIL_DOMAIN;
  const outboxDir = join(options.dataDir, "mail", "outbox");
  await mkdir(outboxDir, { recursive: true });
  let edgeUrl: string | undefined;
  let written = 0;
  const ours = (address: string) => address.toLowerCase().endsWith(`@${domain}`);
  const smtp = await startFakeSmtp({
    ...(options.port ? { port: options.port } : {}),
    async intercept(mail) {
      const local = mail.to.filter(ours);
      if (local.length === 0) return "keep";
      if (!edgeUrl) throw new SmtpAnswer(451, "the edge is not up yet; try again");
      for (const to of local) {
        const url = new URL("/cdn-cgi/handler/email", edgeUrl);
        url.searchParams.set("from", mail.from || "unknown@invalid");
        url.searchParams.set("to", to);
        const response = await fetch(url, { method: "POST", body: mail.bytes }).catch(() => undefined);
        if (!response) throw new SmtpAnswer(451, "the edge did not answer; try again");
        const text = await response.text();
        if (response.status === 400)
          throw new SmtpAnswer(550, text.replace(/^Worker rejected email with the following reason: /, "").slice(0, 300));
        if (!response.ok) throw new SmtpAnswer(451, `the edge could not take the message (${response.status}); try again`);
      }
      return "handled";
    },
    onMail(mail) {
      written += 1;
      const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${String(written).padStart(6, "0")}.eml`;
      // Whole or not at all: a reader never sees half a message.
      const path = join(outboxDir, name);
      writeFile(`${path}.partial`, mail.bytes)
        .then(() => rename(`${path}.partial`, path))
        .catch((error: unknown) => console.error(`mail: could not write ${name}:`, error));
    },
  });
  const outbox = () => smtp.received();
  return {
    host: smtp.host,
    port: smtp.port,
    domain,
    outboxDir,
    outbox,
    forwardTo(url) {
      edgeUrl = url;
    },
    stop: () => smtp.close(),
  };
}
