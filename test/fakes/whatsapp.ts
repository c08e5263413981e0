import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sentWaiter } from "./sent-waiter";

export interface SentWhatsAppMessage {
  id: string;
  phoneNumberId: string;
  to: string;
  type: string;
  /** The whole message object as posted. */
  body: Record<string, unknown>;
  at: number;
}

export interface FakeTemplate {
  name: string;
  language: string;
  status?: "APPROVED" | "PENDING" | "REJECTED";
  category?: string;
  components: Array<{
    type: "HEADER" | "BODY" | "FOOTER" | "BUTTONS";
    format?: string;
    text?: string;
    buttons?: Array<{ type: string; text: string; url?: string }>;
  }>;
}

export interface FakeWhatsApp {
  /** Base URL with the Graph API version, as `WHATSAPP_API_BASE` takes it: `http://127.0.0.1:PORT/v21.0`. */
  apiBase: string;
  url: string;
  sent(to?: string): SentWhatsAppMessage[];
  /** Message ids marked as read. */
  reads(): string[];
  /** Media downloads served, by media id. */
  downloads(): string[];
  waitForSent(to: string, count: number, timeoutMs?: number): Promise<SentWhatsAppMessage[]>;
  /** Makes a media object available for lookup and download. */
  addMedia(id: string, bytes: Buffer, mimeType: string): void;
  /** Templates of the WhatsApp Business Account (`GET /<waba-id>/message_templates`); template sends are checked against them. */
  addTemplate(template: FakeTemplate): void;
  /** The next `count` message sends fail with this Meta error code. */
  failNextSends(count: number, code: 130429 | 131056 | 131026 | 131047 | 100): void;
  close(): Promise<void>;
}

/** Meta's error texts for the codes the fake can produce. */
const ERRORS: Record<number, { status: number; message: string; details: string }> = {
  130429: { status: 429, message: "(#130429) Rate limit hit", details: "Cloud API message throughput has been reached." },
  131056: {
    status: 400,
    message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    details: "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
  },
  131026: {
    status: 400,
    message: "(#131026) Message undeliverable",
    details: "Unable to deliver message. Reasons can include: The recipient phone number is not a WhatsApp phone number.",
  },
  131047: {
    status: 400,
    message: "(#131047) Re-engagement message",
    details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
  },
  100: { status: 400, message: "(#100) Invalid parameter", details: "Invalid parameter" },
  132000: {
    status: 400,
    message: "(#132000) Number of parameters does not match the expected number of params",
    details: "body: number of localizable_params (1) does not match the expected number of params (2)",
  },
  132001: { status: 404, message: "(#132001) Template name does not exist in the translation", details: "template name not found" },
  190: {
    status: 401,
    message: "Error validating access token: Session has expired or the token is invalid.",
    details: "Invalid OAuth access token.",
  },
};

/**
 * A loopback fake of the WhatsApp Cloud API on the Graph API: `POST /<version>/<phone-number-id>/messages`
 * (text, interactive, template, and `status: "read"`), `GET /<version>/<media-id>` (media URL
 * lookup) and the download it points to, `GET /<version>/<phone-number-id>` (number details),
 * bearer-token checks, and errors in Meta's shape (`{ error: { message, type, code,
 * error_data: { details }, fbtrace_id } }`), including rate limits (130429, 131056) and permanent
 * failures on demand.
 */
export async function startFakeWhatsApp(options: { accessToken: string; version?: string; port?: number }): Promise<FakeWhatsApp> {
  const version = options.version ?? "v21.0";
  const sentMessages: SentWhatsAppMessage[] = [];
  const readIds: string[] = [];
  const downloaded: string[] = [];
  const media = new Map<string, { bytes: Buffer; mimeType: string }>();
  const templates: FakeTemplate[] = [];
  const waiter = sentWaiter();
  let failures = { count: 0, code: 130429 };
  let base = "";

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const fail = (code: number) => {
      const error = ERRORS[code]!;
      return json(error.status, {
        error: {
          message: error.message,
          type: "OAuthException",
          code,
          error_data: { messaging_product: "whatsapp", details: error.details },
          fbtrace_id: randomBytes(8).toString("hex"),
        },
      });
    };
    if (url.pathname === "/_fake/sent" && request.method === "GET") {
      // For the chat CLI (no token): what was sent to one number, from `offset` of the whole log on.
      const to = url.searchParams.get("to");
      const offset = Number(url.searchParams.get("offset") ?? 0) || 0;
      return json(200, { result: sentMessages.slice(offset).filter((m) => !to || m.to === to), next: sentMessages.length });
    }
    if (request.headers.authorization !== `Bearer ${options.accessToken}`) return fail(190);

    const download = /^\/_media\/([^/]+)$/.exec(url.pathname);
    if (download) {
      const item = media.get(decodeURIComponent(download[1]!));
      if (!item) return json(404, { error: { message: "Not found", code: 100 } });
      downloaded.push(decodeURIComponent(download[1]!));
      return response.writeHead(200, { "content-type": item.mimeType, "content-length": item.bytes.length }).end(item.bytes);
    }

    const listing = new RegExp(`^/${version.replace(".", "\\.")}/(\\d+)/message_templates$`).exec(url.pathname);
    if (listing && request.method === "GET") {
      return json(200, { data: templates.map((t) => ({ id: t.name, status: "APPROVED", category: "UTILITY", ...t })), paging: {} });
    }

    const match = new RegExp(`^/${version.replace(".", "\\.")}/([^/]+)(/messages)?$`).exec(url.pathname);
    if (!match) return fail(100);
    const [, node, messagesPath] = match as unknown as [string, string, string | undefined];

    if (request.method === "GET" && !messagesPath) {
      const item = media.get(node);
      if (item) {
        return json(200, {
          messaging_product: "whatsapp",
          url: `${base}/_media/${encodeURIComponent(node)}`,
          mime_type: item.mimeType,
          sha256: createHash("sha256").update(item.bytes).digest("hex"),
          file_size: item.bytes.length,
          id: node,
        });
      }
      if (/^\d+$/.test(node)) return json(200, { id: node, display_phone_number: "+1 555 0100", verified_name: "Fake Business" });
      return fail(100);
    }

    if (request.method === "POST" && messagesPath) {
      let body: Record<string, unknown>;
      try {
        body = await readJson(request);
      } catch {
        return fail(100);
      }
      if (body.messaging_product !== "whatsapp") return fail(100);
      if (body.status === "read") {
        readIds.push(String(body.message_id));
        return json(200, { success: true });
      }
      const to = body.to;
      const type = String(body.type ?? "text");
      if (typeof to !== "string" || !to) return fail(100);
      if (type === "text") {
        const text = (body.text as { body?: unknown } | undefined)?.body;
        if (typeof text !== "string" || !text || text.length > 4096) return fail(100);
      }
      if (type === "template" && templates.length) {
        const sent = body.template as {
          name?: string;
          language?: { code?: string };
          components?: Array<{ type: string; parameters?: unknown[] }>;
        };
        const known = templates.find((t) => t.name === sent.name && t.language === sent.language?.code);
        if (!known) return fail(132001);
        const expected = new Set(known.components.find((c) => c.type === "BODY")?.text?.match(/\{\{\d+\}\}/g) ?? []).size;
        const given = sent.components?.find((c) => c.type === "body")?.parameters?.length ?? 0;
        if (expected !== given) return fail(132000);
      }
      if (type === "interactive") {
        const buttons = (body.interactive as { action?: { buttons?: Array<{ reply?: { title?: string } }> } })?.action?.buttons ?? [];
        if (buttons.length < 1 || buttons.length > 3 || buttons.some((b) => !b.reply?.title || b.reply.title.length > 20)) return fail(100);
      }
      if (failures.count > 0) {
        failures.count--;
        return fail(failures.code);
      }
      const id = `wamid.${randomBytes(12).toString("hex")}`;
      sentMessages.push({ id, phoneNumberId: node, to, type, body, at: Date.now() });
      waiter.sent();
      return json(200, { messaging_product: "whatsapp", contacts: [{ input: to, wa_id: to }], messages: [{ id }] });
    }
    return fail(100);
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  const sent = (to?: string) => sentMessages.filter((message) => to === undefined || message.to === to);

  return {
    apiBase: `${base}/${version}`,
    url: base,
    sent,
    reads: () => [...readIds],
    downloads: () => [...downloaded],
    waitForSent: (to, count, timeoutMs = 30_000) =>
      waiter.waitFor(
        () => sent(to),
        count,
        timeoutMs,
        (got) => `fake WhatsApp: expected ${count} message(s) to ${to}, got ${got}`,
      ),
    addMedia(id, bytes, mimeType) {
      media.set(id, { bytes, mimeType });
    },
    addTemplate(template) {
      templates.push(template);
    },
    failNextSends(count, code) {
      failures = { count, code };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
}
