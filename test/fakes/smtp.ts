import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw message (headers and body) as sent over DATA. */
  raw: string;
  /** The same, as bytes (8-bit bodies survive). */
  bytes: Uint8Array;
}

export interface FakeSmtpOptions {
  /** Port on 127.0.0.1; 0 or absent lets the kernel choose. */
  port?: number;
  /**
   * Takes a message before it is kept (the local stack hands its own domain's mail to the edge):
   * `handled` is not kept; a thrown error with `responseCode` (550, 451) is the SMTP answer.
   */
  intercept?: (mail: ReceivedMail) => Promise<"handled" | "keep">;
  /** Called for every message kept. */
  onMail?: (mail: ReceivedMail) => void;
}

export interface FakeSmtp {
  host: string;
  port: number;
  received(): ReceivedMail[];
  close(): Promise<void>;
}

/** A loopback SMTP server (the `smtp-server` package, the real protocol) that keeps what it is sent. */
export async function startFakeSmtp(options: FakeSmtpOptions = {}): Promise<FakeSmtp> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: 40 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const bytes = Buffer.concat(chunks);
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: bytes.toString("utf8"),
          bytes: new Uint8Array(bytes),
        };
        (options.intercept ? options.intercept(mail) : Promise.resolve("keep" as const)).then(
          (outcome) => {
            if (outcome === "keep") {
              mails.push(mail);
              options.onMail?.(mail);
            }
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { host: "127.0.0.1", port, received: () => [...mails], close: () => new Promise((resolve) => server.close(() => resolve())) };
}
