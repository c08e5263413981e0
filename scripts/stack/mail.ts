import { randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { AwsClient } from "aws4fetch";
import { join } from "node:path";
import { createTransport } from "nodemailer";
import { startFakeSes } from "../../test/fakes/ses";
import { startFakeSmtp, type ReceivedMail } from "../../test/fakes/smtp";
import { startFakeSns } from "../../test/fakes/sns";

/** The local stack's mail domain: email channels' inbound addresses are under it (the edge's EMAIL_DOMAIN). */
export const LOCAL_EMAIL_DOMAIN = "mail.agents.localhost";

/**
 * The demo's Amazon SES account: mail for this domain is "received by SES" (a receipt rule's SNS
 * action, published by the loopback SNS), and the SES demo channel sends its replies through the
 * loopback SES API with this key.
 */
export const LOCAL_SES = {
  domain: "ses.agents.localhost",
  region: "eu-west-1",
  topicArn: "arn:aws:sns:eu-west-1:000000000000:inbound-mail",
  /** The receipt rule's S3 action stores mail over the SNS action's 150 KB here (the local S3 emulator). */
  bucket: "inbound-mail",
  accessKeyId: "AKIALOCALDEMO0000001",
  secretAccessKey: "local-demo-ses-secret-not-a-real-key",
} as const;

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
  /** From now on, mail for the SES domain over 150 KB is stored in this S3 emulator's bucket (the pool's S3_API_BASE). */
  storeLargeIn(s3Endpoint: string): Promise<void>;
  /** The loopback Amazon SES API (the pool's SES_API_BASE): what it sends is delivered to this SMTP server. */
  sesApiBase: string;
  /** The loopback SNS (the edge's SNS_TRUSTED_BASE_URL): publishes the SES receipts of mail for {@link LOCAL_SES}'s domain. */
  snsUrl: string;
  /** Subscribes a channel's SES endpoint (its webhookUrl) to the receipt topic; resolves once the edge confirmed it. */
  subscribeSes(endpoint: string): Promise<void>;
  /** Publishes an SES notification (a receipt, a bounce) to the topic, signed; resolves with the endpoints' statuses. */
  publishSes(message: string): Promise<number[]>;
  stop(): Promise<void>;
}

/** SES's SNS action carries messages up to 150 KB (larger ones bounce): a receipt rule stores those in S3. */
const SNS_ACTION_LIMIT = 150 * 1024;

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
 * enters the edge's `email()` handler the way Cloudflare Email Routing delivers it (Miniflare's
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
  let s3: (AwsClient & { endpoint: string }) | undefined;
  let written = 0;
  const ours = (address: string) => address.toLowerCase().endsWith(`@${domain}`);
  const sns = await startFakeSns();
  const smtp = await startFakeSmtp({
    ...(options.port ? { port: options.port } : {}),
    async intercept(mail) {
      const viaSes = mail.to.filter((address) => address.toLowerCase().endsWith(`@${LOCAL_SES.domain}`));
      for (const to of viaSes) {
        // SES's receipt rules: the whole message inline in the SNS notification up to 150 KB, else stored in S3.
        const raw = Buffer.from(mail.bytes).toString("utf8");
        let notification = sns.sesReceived(raw, "UTF8", to);
        if (mail.bytes.length > SNS_ACTION_LIMIT) {
          if (!s3) throw new SmtpAnswer(552, "message over 150 KB and no S3 bucket to store it in");
          const key = `inbound/${randomUUID()}`;
          const stored = await s3.fetch(`${s3.endpoint}/${LOCAL_SES.bucket}/${key}`, { method: "PUT", body: mail.bytes });
          if (!stored.ok) throw new SmtpAnswer(451, `the S3 emulator answered ${stored.status}; try again`);
          notification = sns.sesStored(raw, { bucket: LOCAL_SES.bucket, key }, to);
        }
        const statuses = await sns.publish(LOCAL_SES.topicArn, notification);
        if (statuses.length === 0) throw new SmtpAnswer(451, "no SES endpoint is subscribed yet; try again");
        const refused = statuses.find((status) => status !== 200);
        if (refused) throw new SmtpAnswer(refused >= 500 ? 451 : 550, `the SES endpoint answered ${refused}`);
      }
      const local = mail.to.filter(ours);
      if (local.length === 0) return viaSes.length ? "handled" : "keep";
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
  const ses = await startFakeSes({
    accessKeyId: LOCAL_SES.accessKeyId,
    secretAccessKey: LOCAL_SES.secretAccessKey,
    verified: [LOCAL_SES.domain],
    // SES delivers to the recipient's server: here, this one, whose outbox catches it.
    async onSent(sent) {
      const transport = createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true });
      try {
        await transport.sendMail({ envelope: { from: sent.from, to: sent.to }, raw: sent.delivered });
      } finally {
        transport.close();
      }
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
    async storeLargeIn(endpoint) {
      const client = Object.assign(
        new AwsClient({
          accessKeyId: LOCAL_SES.accessKeyId,
          secretAccessKey: LOCAL_SES.secretAccessKey,
          service: "s3",
          region: LOCAL_SES.region,
        }),
        { endpoint },
      );
      const bucket = await client.fetch(`${endpoint}/${LOCAL_SES.bucket}`, { method: "PUT" });
      if (!bucket.ok && bucket.status !== 409) throw new Error(`the S3 emulator answered ${bucket.status} creating ${LOCAL_SES.bucket}`);
      s3 = client;
    },
    sesApiBase: ses.url,
    snsUrl: sns.url,
    async subscribeSes(endpoint) {
      const status = await sns.subscribe(LOCAL_SES.topicArn, endpoint);
      if (status !== 200) throw new Error(`the SES endpoint answered ${status} to SNS's subscription confirmation`);
    },
    publishSes: (message) => sns.publish(LOCAL_SES.topicArn, message),
    stop: async () => {
      await Promise.all([smtp.close(), ses.close(), sns.close()]);
    },
  };
}
