import { and, asc, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { formatChannelAddress, parseChannelAddress, type ChannelAddress } from "../../../core/channels/address";
import { pushToken, verifyPushToken } from "../../../core/channels/webchat/stream";
import type { WebchatStream } from "../durable/webchat-stream";
import { publicBaseUrl } from "./v1/run";
import { readChannelSettings } from "../../../core/channels/config";
import { signWebchatSession, verifyWebchatSession, type WebchatSession } from "../../../core/channels/webchat/session";
import { channels, conversations, messages } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import type { AppEnv } from "../context";
import { database } from "../middleware/database";
import { authenticate } from "../middleware/authenticate";
import { requirePermission } from "../../../core/access/permissions";
import { errorResponse } from "../errors";
import { webchatLimiter } from "../webchat-limits";
import { WIDGET_SCRIPT } from "./webchat-widget";
import { issueDetails } from "../../../core/errors";
import { inboundChatMessage } from "../../../core/queue/builders";

/** The visitor's messages replies answer (a reply names its turn, so the widget replaces the tokens it showed). */
const answered = alias(messages, "answered");

const SESSION_SECONDS = 24 * 60 * 60;
/** A cursor is the last reply's `created_at` as PostgreSQL prints it (microseconds kept). */
const CURSOR = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;
const DEFAULT_MESSAGES_PER_MINUTE = 20;
/** Sessions one network address may open per minute per channel: a script cannot mint fresh budgets. */
const SESSIONS_PER_MINUTE_PER_ADDRESS = 30;

const sendBody = z.object({
  text: z.string().trim().min(1).max(4000),
  /** Chosen by the widget per message: a retried send is stored and answered once. */
  clientMessageId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
});

type WebchatContext = Context<AppEnv, "/:address/*">;

/**
 * The web chat's public API (no admin credentials; CORS per channel):
 * - `GET /webchat/widget.js`: the widget;
 * - `POST /webchat/:address/sessions`: a signed visitor session, only for a page whose `Origin` the
 *   channel allows (the one database read of a visit); at most 30 a minute per network address;
 * - `POST /webchat/:address/messages`: with the session token; same origin as the session, rate
 *   limited per session (globally, through the `WEBCHAT_LIMITER` Durable Object), queued like
 *   every other channel's messages (no database);
 * - `GET /webchat/:address/stream?token=`: server-sent events, each reply as the pool records it
 *   (the session's `WEBCHAT_STREAMS` Durable Object, to which the pool pushes);
 * - `GET /webchat/:address/messages?after=`: the replies the pool recorded for this session, read
 *   through `withTenant` (row-level security) by the session's conversation key; the widget reads
 *   it when its stream (re)opens, and polls it only when it has no stream.
 */
export const webchatRoutes = new Hono<AppEnv>()
  .get("/widget.js", (c) =>
    c.body(WIDGET_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=300" }),
  )
  .options("/:address/*", (c) => {
    const origin = c.req.header("origin");
    // The preflight only says which methods and headers exist; each request checks its origin itself.
    if (!origin) return c.body(null, 204);
    return c.body(null, 204, {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": "600",
      vary: "Origin",
    });
  })
  .post("/:address/sessions", database(), async (c) => {
    const address = parseChannelAddress(c.req.param("address"));
    if (!address) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
    const origin = c.req.header("origin");
    if (!origin) return errorResponse(c, 403, "FORBIDDEN", "Open the chat from a page of an allowed site.");
    // Cloudflare sets CF-Connecting-IP on every request (Miniflare, locally, too); without it there is no address to limit.
    const visitor = c.req.header("cf-connecting-ip");
    if (
      visitor &&
      !(await webchatLimiter(c.env, c.get("logger")).allow(`sessions:${address.channelId}:${visitor}`, SESSIONS_PER_MINUTE_PER_ADDRESS))
    ) {
      return withCors(errorResponse(c, 429, "RATE_LIMITED", "Too many chats opened; wait a moment."), origin, { "retry-after": "30" });
    }
    return openSession(c, address, origin);
  })
  // The console's playground: a member of the channel's tenant opens a session the agent's draft answers.
  .post("/:address/draft-sessions", database(), authenticate(), async (c) => {
    const address = parseChannelAddress(c.req.param("address"));
    const principal = c.get("principal")!;
    if (!address || address.tenantId !== principal.tenantId) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
    requirePermission(principal, "agents:read");
    const origin = c.req.header("origin");
    if (!origin) return errorResponse(c, 403, "FORBIDDEN", "Open the playground from the console.");
    return openSession(c, address, origin, { draft: true });
  })
  .post(
    "/:address/messages",
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => errorResponse(c, 413, "PAYLOAD_TOO_LARGE", "The message is too large.") }),
    async (c) => {
      const checked = await checkSession(c);
      if (checked instanceof Response) return checked;
      const { address, session } = checked;
      if (!(await webchatLimiter(c.env, c.get("logger")).allow(`session:${session.sessionId}`, session.rate))) {
        return withCors(errorResponse(c, 429, "RATE_LIMITED", "Too many messages; wait a moment."), session.origin, {
          "retry-after": "10",
        });
      }
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return withCors(errorResponse(c, 400, "INVALID_JSON", "The body is not valid JSON."), session.origin);
      }
      const parsed = sendBody.safeParse(body);
      if (!parsed.success) {
        const details = issueDetails(parsed.error.issues, 5);
        return withCors(errorResponse(c, 400, "INVALID_BODY", "Send { text, clientMessageId }.", details), session.origin);
      }
      const now = new Date().toISOString();
      try {
        await c.get("services").inboundQueue.enqueue(
          inboundChatMessage(
            {
              tenantId: address.tenantId,
              channelId: address.channelId,
              channelKind: "webchat",
              conversationKey: session.sessionId,
              providerMessageId: `${session.sessionId}:${parsed.data.clientMessageId}`,
              requestId: c.get("requestId"),
              receivedAt: now,
              ...(session.draft ? { agentVersion: "draft" as const } : {}),
            },
            {
              text: parsed.data.text,
              sender: { id: session.sessionId, displayName: "Web visitor" },
              sentAt: now,
              // The pool pushes the reply into the session's stream here (the widget's open SSE connection).
              replyUrl: `${publicBaseUrl(c).replace(/\/+$/, "")}/webchat/${formatChannelAddress(address)}/sessions/${session.sessionId}/push?t=${encodeURIComponent(
                await pushToken(c.get("services").config.WEBHOOK_SIGNING_KEY, address, session.sessionId),
              )}`,
            },
          ),
        );
      } catch {
        return withCors(errorResponse(c, 503, "QUEUE_UNAVAILABLE", "Could not accept the message right now; retry."), session.origin);
      }
      return withCors(c.json({ ok: true }, 202), session.origin);
    },
  )
  // Server-sent events: each reply as the pool records it. EventSource sends no headers, so the session token comes as `?token=`.
  .get("/:address/stream", async (c) => {
    const checked = await checkSession(c, c.req.query("token"));
    if (checked instanceof Response) return checked;
    const { address, session } = checked;
    const stub = streamOf(c, address, session.sessionId);
    if (!stub) return withCors(errorResponse(c, 503, "CHANNELS_UNAVAILABLE", "Live replies are off here; poll /messages."), session.origin);
    const streamed = await stub.fetch(new Request(c.req.url, { method: "GET", signal: c.req.raw.signal }));
    return withCors(new Response(streamed.body, streamed), session.origin);
  })
  // The pool's push of a recorded reply into the session's stream (the URL and its token travel with the visitor's message).
  .post("/:address/sessions/:sessionId/push", async (c) => {
    const address = parseChannelAddress(c.req.param("address"));
    const sessionId = c.req.param("sessionId");
    const { WEBHOOK_SIGNING_KEY } = c.get("services").config;
    if (!address || !(await verifyPushToken(WEBHOOK_SIGNING_KEY, address, sessionId, c.req.query("t") ?? null))) {
      return errorResponse(c, 403, "FORBIDDEN", "Missing or wrong push token.");
    }
    const stub = streamOf(c, address, sessionId);
    if (!stub) return errorResponse(c, 503, "CHANNELS_UNAVAILABLE", "Live replies are off here.");
    return stub.fetch(
      new Request(c.req.url, { method: "POST", headers: { "content-type": "application/json" }, body: await c.req.text() }),
    );
  })
  .get("/:address/messages", database(), async (c) => {
    const checked = await checkSession(c);
    if (checked instanceof Response) return checked;
    const { address, session } = checked;
    const after = c.req.query("after");
    if (after !== undefined && !CURSOR.test(after)) {
      return withCors(errorResponse(c, 400, "INVALID_QUERY", "`after` is the cursor of the previous answer."), session.origin);
    }
    const rows = await withTenant(c.get("db")!, address.tenantId, (tx) =>
      tx
        .select({
          id: messages.id,
          text: messages.content,
          at: sql<string>`${messages.createdAt}::text`,
          turn: answered.providerMessageId,
        })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .leftJoin(answered, eq(answered.id, messages.replyToMessageId))
        .where(
          and(
            eq(messages.tenantId, address.tenantId),
            eq(conversations.channelId, address.channelId),
            eq(conversations.externalKey, session.sessionId),
            eq(messages.direction, "outbound"),
            eq(messages.status, "sent"),
            after ? sql`${messages.createdAt} > ${after}::timestamptz` : undefined,
          ),
        )
        .orderBy(asc(messages.createdAt))
        .limit(50),
    );
    return withCors(
      c.json({
        messages: rows.map((row) => ({ id: row.id, text: row.text, at: row.at, ...(row.turn ? { turn: row.turn } : {}) })),
        cursor: rows.at(-1)?.at ?? after ?? null,
      }),
      session.origin,
    );
  });

/** A new session for a page of an allowed origin on an active web chat channel of the address's tenant. */
async function openSession(c: Context<AppEnv>, address: ChannelAddress, origin: string, options: { draft?: true } = {}): Promise<Response> {
  const [channel] = await withTenant(c.get("db")!, address.tenantId, (tx) =>
    tx
      .select()
      .from(channels)
      .where(and(eq(channels.tenantId, address.tenantId), eq(channels.id, address.channelId), eq(channels.kind, "webchat"))),
  );
  if (!channel) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
  const settings = readChannelSettings(channel.config);
  if (!(settings.allowedOrigins ?? []).includes(origin)) {
    c.get("logger").log("warn", "webchat.origin_refused", { channelId: address.channelId });
    return errorResponse(c, 403, "FORBIDDEN", "This site may not open the chat.");
  }
  if (channel.status === "paused") return errorResponse(c, 503, "CHANNELS_UNAVAILABLE", "The chat is paused; try again later.");
  const session: WebchatSession = {
    ...address,
    sessionId: crypto.randomUUID(),
    origin,
    rate: settings.messagesPerMinute ?? DEFAULT_MESSAGES_PER_MINUTE,
    exp: Math.floor(Date.now() / 1000) + SESSION_SECONDS,
    ...options,
  };
  const token = await signWebchatSession(c.get("services").config.WEBHOOK_SIGNING_KEY, session);
  return withCors(
    c.json(
      {
        token,
        sessionId: session.sessionId,
        expiresAt: session.exp * 1000,
        ...(settings.welcomeMessage ? { welcomeMessage: settings.welcomeMessage } : {}),
      },
      201,
    ),
    origin,
  );
}

/** The session from `Authorization: Bearer` (or the stream's `?token=`), bound to this channel and to the page origin that opened it. */
async function checkSession(
  c: WebchatContext,
  queryToken?: string,
): Promise<{ address: ChannelAddress; session: WebchatSession } | Response> {
  const address = parseChannelAddress(c.req.param("address"));
  if (!address) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
  const token = queryToken ?? /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  const session = await verifyWebchatSession(c.get("services").config.WEBHOOK_SIGNING_KEY, token, address);
  if (!session) return errorResponse(c, 401, "UNAUTHORIZED", "Open a chat session first.");
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== session.origin) return errorResponse(c, 403, "FORBIDDEN", "The session belongs to another site.");
  return { address, session };
}

/** The session's stream object (`WEBCHAT_STREAMS`), or undefined where it is not bound (the widget then polls). */
function streamOf(c: Context<AppEnv>, address: ChannelAddress, sessionId: string) {
  const namespace = c.env.WEBCHAT_STREAMS as DurableObjectNamespace<WebchatStream> | undefined;
  return namespace?.get(namespace.idFromName(`${formatChannelAddress(address)}/${sessionId}`));
}

function withCors(response: Response, origin: string, extra: Record<string, string> = {}): Response {
  response.headers.set("access-control-allow-origin", origin);
  response.headers.set("vary", "Origin");
  for (const [name, value] of Object.entries(extra)) response.headers.set(name, value);
  return response;
}
