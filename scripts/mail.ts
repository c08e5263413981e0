/**
 * `npm run mail -- "text"`: write to the demo agent by email, as a customer's mail client would.
 * The mail goes over SMTP to the local stack's mail server, which hands it to the edge's `email()`
 * handler (the production intake); the agent's reply, sent by the pool over SMTP, is caught by the
 * same server and printed. Each run continues your last thread (In-Reply-To and References of the
 * last reply), so the agent remembers it. Needs `npm start` running.
 *   --to ADDRESS       where to write (default: the demo mailbox)
 *   --ses              write to the demo mailbox on Amazon SES instead: received through SES's
 *                      SNS notification at the edge's /webhooks/ses, answered through the SES API
 *   --from ADDRESS     who to be (default customer@example.com)
 *   --subject TEXT     the subject of a new thread (default "Question")
 *   --new-thread       start a new thread instead of replying to the last one
 */
import { randomUUID } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createTransport } from "nodemailer";
import PostalMime from "postal-mime";
import { PROJECT_ROOT, type StackState } from "./local-stack";

const dataDir = process.env.AGENT_STACK_DIR ?? join(PROJECT_ROOT, ".data");
const REPLY_TIMEOUT_MS = 60_000;

interface Thread {
  subject: string;
  references: string[];
  lastId: string;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      to: { type: "string" },
      ses: { type: "boolean", default: false },
      from: { type: "string", default: "customer@example.com" },
      subject: { type: "string", default: "Question" },
      "new-thread": { type: "boolean", default: false },
    },
  });
  const text = positionals.join(" ").trim();
  if (!text) throw new Error('say something: npm run mail -- "Where is my order?"');
  let state: StackState;
  try {
    state = JSON.parse(await readFile(join(dataDir, "stack.json"), "utf8")) as StackState;
  } catch {
    throw new Error("the local stack is not running: start it with `npm start` in another terminal");
  }
  if (!state.mail) throw new Error("this stack has no mail server: restart `npm start`");
  if (values.ses && !state.mail.sesAddress) throw new Error("this stack has no SES demo mailbox: restart `npm start`");
  const to = values.to ?? (values.ses ? state.mail.sesAddress! : state.mail.demoAddress);
  const from = values.from!.toLowerCase();
  const threadFile = join(dataDir, "mail", `thread-${from.replace(/[^a-z0-9.@_-]/g, "_")}.json`);
  const thread = values["new-thread"] ? undefined : await readThread(threadFile);

  const messageId = `${randomUUID()}@${from.split("@")[1] ?? "example.com"}`;
  const subject = thread ? (/^re:/i.test(thread.subject) ? thread.subject : `Re: ${thread.subject}`) : values.subject!;
  const before = new Set(await readdir(state.mail.outboxDir));
  const transport = createTransport({ host: state.mail.host, port: state.mail.port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({
      from,
      to,
      subject,
      text,
      messageId: `<${messageId}>`,
      ...(thread ? { inReplyTo: `<${thread.lastId}>`, references: [...thread.references, thread.lastId].map((id) => `<${id}>`) } : {}),
    });
  } finally {
    transport.close();
  }
  console.log(`you → ${to}\n  ${subject}\n  ${text}\n`);

  const reply = await waitForReply(state.mail.outboxDir, before, messageId);
  console.log(`agent → you (${reply.from})\n  ${reply.subject}\n${reply.text.replace(/^/gm, "  ")}`);
  await writeFile(
    threadFile,
    JSON.stringify({
      subject: reply.subject,
      references: [...(thread?.references ?? []), ...(thread ? [thread.lastId] : []), messageId],
      lastId: reply.messageId,
    } satisfies Thread),
  );
}

async function readThread(file: string): Promise<Thread | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Thread;
  } catch {
    return undefined;
  }
}

/** The first caught mail that answers ours (its In-Reply-To), waiting for it as files appear. */
async function waitForReply(dir: string, before: Set<string>, inReplyTo: string) {
  const deadline = Date.now() + REPLY_TIMEOUT_MS;
  const seen = new Set(before);
  while (Date.now() < deadline) {
    for (const name of (await readdir(dir)).sort()) {
      if (seen.has(name) || name.endsWith(".partial")) continue;
      seen.add(name);
      const mail = await PostalMime.parse(await readFile(join(dir, name)));
      if (mail.inReplyTo?.includes(inReplyTo)) {
        return {
          from: mail.from?.address ?? "",
          subject: mail.subject ?? "",
          text: (mail.text ?? "").trim(),
          messageId: (mail.messageId ?? "").replace(/^<|>$/g, ""),
        };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no reply within ${REPLY_TIMEOUT_MS / 1000} s: see .data/logs/services.log`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
