import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTransport } from "nodemailer";
import pg from "pg";
import PostalMime from "postal-mime";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { channelEmailAddress } from "../../core/channels/email/address";
import { DEMO_AGENT_ID, DEMO_TENANT_ID } from "../../scripts/seed";
import { PROJECT_ROOT, startLocalStack, writeStackState, type LocalStack } from "../../scripts/local-stack";
import type { ReceivedMail } from "../fakes/smtp";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { createAccessTenant } from "../support/access";
import { createPoolDb } from "../../db/client";

/**
 * Email end to end on the local stack: SMTP into the edge's `email()` handler (workerd), the queue,
 * the pool, and the reply over SMTP to the tenant's server (the same loopback server catches it).
 */
describe("the email channel", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let dataDir: string;
  let admin: pg.Client;
  let demoAddress: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), "mail-stack-"));
    stack = await startLocalStack({
      dataDir,
      database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
      withChroma: false,
      demoEmail: true,
      output: "quiet",
      poolEnv: { POOL_WAIT_TIME_SECONDS: "1", LOG_LEVEL: "warn" },
    });
    await writeStackState(dataDir, stack);
    demoAddress = stack.demo!.email!.address;
    admin = new pg.Client({ connectionString: database.adminUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await stack?.stop();
    await database?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Sends over SMTP to the stack's server, as any mail client or relay would. */
  async function send(message: {
    from?: string;
    to: string;
    raw?: string;
    subject?: string;
    text?: string;
    messageId?: string;
    headers?: Record<string, string>;
    attachments?: Array<{ filename: string; content: string }>;
  }) {
    const transport = createTransport({ host: stack.mail!.host, port: stack.mail!.port, secure: false, ignoreTLS: true });
    try {
      return await transport.sendMail(
        message.raw
          ? { envelope: { from: message.from ?? "someone@example.com", to: [message.to] }, raw: message.raw }
          : {
              from: message.from ?? "customer@example.com",
              to: message.to,
              subject: message.subject ?? "Question",
              text: message.text ?? "hello",
              ...(message.messageId ? { messageId: `<${message.messageId}>` } : {}),
              ...(message.headers ? { headers: message.headers } : {}),
              ...(message.attachments ? { attachments: message.attachments } : {}),
            },
      );
    } finally {
      transport.close();
    }
  }

  const repliesTo = (address: string) => stack.mail!.outbox().filter((mail) => mail.to.includes(address));

  async function waitForReplies(address: string, count: number): Promise<ReceivedMail[]> {
    return vi.waitFor(
      () => {
        const found = repliesTo(address);
        if (found.length < count) throw new Error(`${found.length} of ${count} replies to ${address}`);
        return found;
      },
      { timeout: 30_000, interval: 100 },
    );
  }

  it("npm run mail writes to the demo mailbox and prints the agent's reply; a second run continues the same conversation", async () => {
    const run = async (text: string) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT_ROOT, "scripts/mail.ts"), "--from", "cli@example.com", text], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, AGENT_STACK_DIR: dataDir },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      return { code, output };
    };
    const first = await run("Where is my order 1042?");
    expect(first.output).toMatch(/agent → you \(support@demo-shop\.example\)/);
    expect(first.output).toContain("Re: Question");
    expect(first.output).toContain("Where is my order 1042?");
    expect(first.code).toBe(0);
    const second = await run("And when will it arrive?");
    expect(second.code).toBe(0);
    expect(second.output).toContain("When will it arrive?".replace("When", "when"));

    const { rows } = await admin.query(
      `select c.id, count(m.*)::int as messages from conversations c join messages m on m.conversation_id = c.id
        where c.tenant_id = $1 and c.channel_id = $2 and m.sender->>'id' = 'cli@example.com' group by c.id`,
      [DEMO_TENANT_ID, stack.demo!.email!.channelId],
    );
    expect(rows).toHaveLength(1);

    // The reply threads in every client: our Message-ID, In-Reply-To, References, Auto-Submitted, text and HTML.
    const [reply] = repliesTo("cli@example.com");
    const parsed = await PostalMime.parse(reply!.bytes);
    expect(parsed.inReplyTo).toBeTruthy();
    expect(parsed.references).toContain(parsed.inReplyTo!);
    expect(parsed.messageId).toMatch(/^<r[a-z2-7]{26}\.[0-9a-f-]{36}@demo-shop\.example>$/);
    expect(parsed.headers.find((h) => h.key === "auto-submitted")?.value).toBe("auto-replied");
    expect(parsed.replyTo?.[0]).toMatchObject({ address: demoAddress });
    expect(parsed.html).toContain("<html>");
  });

  it("connects an email channel through the admin API: its inbound address answers, the SMTP password is sealed and never shown", async () => {
    const owner = createPoolDb(database.adminUrl, { max: 1 });
    try {
      const tenant = await createAccessTenant(owner.db);
      const password = "smtp-password-never-shown-0123";
      const call = async (path: string, method = "GET", body?: unknown) => {
        const response = await fetch(`${stack.edge.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${tenant.apiKeys.admin.key}`, ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await response.text();
        expect(text).not.toContain(password);
        return { status: response.status, body: JSON.parse(text) as Record<string, unknown> & { error?: { code: string } } };
      };
      const created = await call("/v1/channels", "POST", {
        kind: "email",
        name: "Support",
        agentId: tenant.agentId,
        settings: {
          fromAddress: "help@tenant-shop.example",
          fromName: "Tenant Shop",
          smtp: { host: stack.mail!.host, port: stack.mail!.port, username: "help" },
        },
        smtpPassword: password,
      });
      expect(created.status).toBe(201);
      const inboundAddress = created.body.inboundAddress as string;
      expect(inboundAddress).toMatch(new RegExp(`^[a-z2-7]{52}\\.[a-z2-7]{8}@${stack.mail!.domain.replace(/\./g, "\\.")}$`));
      expect(created.body).toMatchObject({ kind: "email", hasCredentials: true, settings: { inboundAddress } });
      const { rows } = await admin.query(`select credentials from channels where id = $1`, [created.body.id]);
      expect(rows[0].credentials).not.toContain(password);
      expect((await call(`/v1/channels/${created.body.id as string}/test`, "POST")).body).toMatchObject({ ok: true });
      // A settings change keeps the address.
      const patched = await call(`/v1/channels/${created.body.id as string}`, "PATCH", {
        settings: {
          fromAddress: "help@tenant-shop.example",
          fromName: "Tenant Shop",
          smtp: { host: stack.mail!.host, port: stack.mail!.port },
        },
      });
      expect(patched.body).toMatchObject({ inboundAddress, settings: { inboundAddress } });
      // Bad settings are the client's mistake, with the fields named.
      const bad = await call("/v1/channels", "POST", {
        kind: "email",
        name: "x",
        agentId: tenant.agentId,
        settings: { fromAddress: "not an address" },
      });
      expect(bad.status).toBe(400);

      await send({ from: "buyer@example.com", to: inboundAddress, text: "Do you have gift cards?" });
      const [reply] = await waitForReplies("buyer@example.com", 1);
      expect(reply!.from).toBe("help@tenant-shop.example");
      expect((await PostalMime.parse(reply!.bytes)).from).toMatchObject({ name: "Tenant Shop", address: "help@tenant-shop.example" });
    } finally {
      await owner.close();
    }
  });

  it("refuses mail to an address that is not a channel's with 550 and a reason; nothing is answered", async () => {
    // Another channel's id with the demo channel's tag: the tag does not match.
    const [local, domain] = demoAddress.split("@");
    const forged = `${local!.slice(0, 40)}${local![40] === "b" ? "c" : "b"}${local!.slice(41)}@${domain}`;
    await expect(send({ to: forged })).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringContaining("No agent receives mail"),
    });
    await expect(send({ to: `support@${stack.mail!.domain}` })).rejects.toMatchObject({ responseCode: 550 });
  });

  it("answers a mail delivered twice (same Message-ID) once", async () => {
    const messageId = `twice-${Date.now()}@example.org`;
    await send({ from: "twice@example.org", to: demoAddress, messageId, text: "Is the shop open on Sunday?" });
    await send({ from: "twice@example.org", to: demoAddress, messageId, text: "Is the shop open on Sunday?" });
    await waitForReplies("twice@example.org", 1);
    // A later mail from the same person is answered after the duplicate would have been.
    await send({ from: "twice@example.org", to: demoAddress, text: "Thanks!" });
    await waitForReplies("twice@example.org", 2);
    const { rows } = await admin.query(`select count(*)::int as n from messages where provider_message_id = $1`, [messageId]);
    expect(rows[0].n).toBe(1);
    expect(repliesTo("twice@example.org")).toHaveLength(2);
  });

  it("two agents mailing each other stop: an auto-reply is never answered", async () => {
    // A second tenant mailbox (agent B), whose own address forwards to its inbound address.
    const channelB = crypto.randomUUID();
    const addressB = await channelEmailAddress(
      stack.keys.WEBHOOK_SIGNING_KEY,
      { tenantId: DEMO_TENANT_ID, channelId: channelB },
      stack.mail!.domain,
    );
    await admin.query(`insert into channels (id, tenant_id, agent_id, kind, name, config) values ($1, $2, $3, 'email', 'Agent B', $4)`, [
      channelB,
      DEMO_TENANT_ID,
      DEMO_AGENT_ID,
      { fromAddress: "agent-b@b-shop.example", smtp: { host: stack.mail!.host, port: stack.mail!.port }, inboundAddress: addressB },
    ]);
    // Someone at B's address writes to A; A answers B's address once.
    await send({ from: "agent-b@b-shop.example", to: demoAddress, text: "Do you ship to Norway?" });
    const [toB] = await waitForReplies("agent-b@b-shop.example", 1);
    // B's mail provider forwards it to B's inbound address: B does not answer an auto-reply.
    await send({ from: "support@demo-shop.example", to: addressB, raw: toB!.raw });
    // A person's mail to B afterwards is answered, and that is B's only reply.
    await send({ from: "person@example.net", to: addressB, text: "Hello B" });
    await waitForReplies("person@example.net", 1);
    expect(repliesTo("support@demo-shop.example")).toHaveLength(0);
    expect(repliesTo("agent-b@b-shop.example")).toHaveLength(1);
  });

  it("a flood from one address gets the channel's replies per hour, and the rest is stored unanswered", async () => {
    await admin.query(`update channels set config = config || '{"repliesPerHour": 2}'::jsonb where id = $1`, [
      stack.demo!.email!.channelId,
    ]);
    try {
      // One thread: one conversation, answered in order.
      const root = `flood-root-${Date.now()}@example.com`;
      for (const n of [1, 2, 3]) {
        await send({
          from: "flood@example.com",
          to: demoAddress,
          text: `message ${n}`,
          messageId: n === 1 ? root : `flood-${n}-${Date.now()}@example.com`,
          ...(n > 1 ? { headers: { References: `<${root}>`, "In-Reply-To": `<${root}>` } } : {}),
        });
      }
      await waitForReplies("flood@example.com", 2);
      await vi.waitFor(
        async () => {
          const { rows } = await admin.query(
            `select i.content, o.id as reply from messages i left join messages o on o.reply_to_message_id = i.id
              where i.channel_id = $1 and i.sender->>'id' = 'flood@example.com' order by i.created_at`,
            [stack.demo!.email!.channelId],
          );
          expect(rows.map((row: { reply: string | null }) => row.reply !== null)).toEqual([true, true, false]);
        },
        { timeout: 30_000, interval: 200 },
      );
      expect(repliesTo("flood@example.com")).toHaveLength(2);
    } finally {
      await admin.query(`update channels set config = config - 'repliesPerHour' where id = $1`, [stack.demo!.email!.channelId]);
    }
  });

  it("a bounce of a reply marks the reply failed with the server's words", async () => {
    await send({ from: "bounce-me@example.com", to: demoAddress, text: "Please confirm." });
    const [reply] = await waitForReplies("bounce-me@example.com", 1);
    const replyId = (await PostalMime.parse(reply!.bytes)).messageId!.replace(/^<|>$/g, "");
    const dsn = (await readFile(join(PROJECT_ROOT, "test/fixtures/email/dsn-bounce.eml"), "utf8")).replace(
      "rabcdefghijklmnopqrstuvwxyz.5b0c6f7e-8d2a-4c1b-9e3f-0a1b2c3d4e5f@shop.example.com",
      replyId,
    );
    await send({ from: "", to: demoAddress, raw: dsn });
    await vi.waitFor(
      async () => {
        const { rows } = await admin.query(`select delivery_status, error from messages where provider_message_id = $1`, [replyId]);
        expect(rows[0]).toMatchObject({ delivery_status: "failed", error: expect.stringContaining("550 5.1.1") });
      },
      { timeout: 30_000, interval: 200 },
    );
  });

  it("through Amazon SES: npm run mail -- --ses is received by SNS at /webhooks/ses and answered through the SES API; SES's bounce fails the reply", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(PROJECT_ROOT, "scripts/mail.ts"), "--ses", "--from", "ses-customer@example.com", "Is order 77 shipped?"],
      { cwd: PROJECT_ROOT, env: { ...process.env, AGENT_STACK_DIR: dataDir }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    expect(await new Promise<number | null>((resolve) => child.on("exit", resolve)), output).toBe(0);
    expect(output).toMatch(/agent → you \(support@ses\.agents\.localhost\)/);
    expect(output).toContain("Is order 77 shipped?");

    const [reply] = repliesTo("ses-customer@example.com");
    const parsed = await PostalMime.parse(reply!.bytes);
    // SES put its own Message-ID on the reply: that is the id stored, which its events name.
    const sesId = parsed.messageId!.replace(/^<|>$/g, "");
    expect(sesId).toMatch(/^[0-9a-f-]+@eu-west-1\.amazonses\.com$/);
    expect(parsed.headers.find((h) => h.key === "auto-submitted")?.value).toBe("auto-replied");
    const { rows } = await admin.query(
      `select c.channel_id from messages m join conversations c on c.id = m.conversation_id where m.provider_message_id = $1`,
      [sesId],
    );
    expect(rows).toEqual([{ channel_id: stack.demo!.email!.sesChannelId }]);

    const bounce = {
      eventType: "Bounce",
      mail: { messageId: sesId.split("@")[0] },
      bounce: {
        bounceType: "Permanent",
        bouncedRecipients: [{ emailAddress: "ses-customer@example.com", diagnosticCode: "smtp; 550 5.1.1 mailbox unavailable" }],
      },
    };
    expect(await stack.mail!.publishSes(JSON.stringify(bounce))).toEqual([200]);
    await vi.waitFor(
      async () => {
        const { rows: after } = await admin.query(`select delivery_status, error from messages where provider_message_id = $1`, [sesId]);
        expect(after[0]).toMatchObject({ delivery_status: "failed", error: expect.stringContaining("550 5.1.1 mailbox unavailable") });
      },
      { timeout: 30_000, interval: 200 },
    );
  });

  it("through Amazon SES, a message over 150 KB is stored in S3 by the receipt rule and read from the bucket by the pool", async () => {
    const filler = "This line pads the attached log so the message is over SNS's limit.\n".repeat(3_000);
    await send({
      from: "big-mail@example.com",
      to: stack.demo!.email!.sesAddress!,
      subject: "Logs attached",
      text: "My order 5150 never arrived, here are the logs.\n\nOn Mon, Dec 1, 2026 Support wrote:\n> an earlier quoted answer",
      messageId: "big-1@example.com",
      headers: { "X-Pad": "1" },
      attachments: [{ filename: "log.txt", content: filler }],
    });
    const [reply] = await waitForReplies("big-mail@example.com", 1);
    expect((await PostalMime.parse(reply!.bytes)).inReplyTo).toBe("<big-1@example.com>");
    const { rows } = await admin.query(`select content from messages where provider_message_id = $1`, ["big-1@example.com"]);
    // The body from the bucket, not the subject the notification carries; the quoted history gone.
    expect(rows[0].content).toContain("My order 5150 never arrived");
    expect(rows[0].content).not.toContain("an earlier quoted answer");
    // The attached log is a document the agent reads, as it reads one sent on WhatsApp.
    expect(rows[0].content).toContain("log.txt");
    expect(rows[0].content).toContain("This line pads the attached log");
  });

  it("a subject that decodes to a Bcc header is answered with one subject line and one recipient", async () => {
    const raw = (await readFile(join(PROJECT_ROOT, "test/fixtures/email/header-injection.eml"), "utf8")).replace(
      "To: support@shop.example.com",
      `To: ${demoAddress}`,
    );
    await send({ from: "mallory@example.com", to: demoAddress, raw });
    const [reply] = await waitForReplies("mallory@example.com", 1);
    expect(reply!.to).toEqual(["mallory@example.com"]);
    const parsed = await PostalMime.parse(reply!.bytes);
    expect(parsed.subject).toBe("Re: Hello Bcc: victim@example.com");
    expect(parsed.headers.filter((h) => h.key === "bcc")).toEqual([]);
    expect(stack.mail!.outbox().some((mail) => mail.to.includes("victim@example.com"))).toBe(false);
  });
});
