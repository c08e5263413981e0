import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { parseChannelAddress } from "../../../../core/channels/address";
import { verifyWhatsAppSignature, verifyWhatsAppVerifyToken } from "../../../../core/channels/whatsapp/signature";
import { normalizeWhatsAppWebhook, whatsappWebhook } from "../../../../core/channels/whatsapp/webhook";
import { describeError } from "../../../../core/observability/log";
import type { AppEnv } from "../../context";
import { errorResponse } from "../../errors";
import { MAX_WEBHOOK_BODY_BYTES } from "./telegram";
import { issueDetails } from "../../../../core/errors";

/**
 * `/webhooks/whatsapp/:channelId` (the channel address `<tenant>.<channel>`), no database on the path:
 * - `GET`: Meta's verification handshake. The challenge is echoed as plain text only when
 *   `hub.mode` is `subscribe` and `hub.verify_token` is the channel's derived token; 403 otherwise.
 * - `POST`: `X-Hub-Signature-256` is checked against the raw body bytes with the platform's app
 *   secret, in constant time, before anything is parsed; then every message and status of the
 *   batch is queued in order (statuses run no agent). 503 when the queue is down: Meta retries, and
 *   the deduplication ids keep what was queued already from being queued twice.
 */
export const whatsappWebhook$ = new Hono<AppEnv>()
  .get("/:channelId", async (c) => {
    const address = parseChannelAddress(c.req.param("channelId"));
    if (!address) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
    const mode = c.req.query("hub.mode");
    const challenge = c.req.query("hub.challenge") ?? "";
    const valid = await verifyWhatsAppVerifyToken(c.get("services").config.WEBHOOK_SIGNING_KEY, address, c.req.query("hub.verify_token"));
    if (mode !== "subscribe" || !valid || !challenge || challenge.length > 256) {
      c.get("logger").log("warn", "webhook.rejected", { channel: "whatsapp", reason: "bad_verify_token" });
      return c.text("Forbidden", 403);
    }
    return c.text(challenge, 200);
  })
  .post(
    "/:channelId",
    bodyLimit({
      maxSize: MAX_WEBHOOK_BODY_BYTES,
      onError: (c) => errorResponse(c, 413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB."),
    }),
    async (c) => {
      const address = parseChannelAddress(c.req.param("channelId"));
      if (!address) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
      const { config, inboundQueue } = c.get("services");
      const logger = c.get("logger").child({ tenantId: address.tenantId, channelId: address.channelId });
      if (!config.WHATSAPP_APP_SECRET) return errorResponse(c, 503, "CHANNELS_UNAVAILABLE", "WhatsApp webhooks are not configured here.");

      const raw = new Uint8Array(await c.req.arrayBuffer());
      if (!(await verifyWhatsAppSignature(config.WHATSAPP_APP_SECRET, raw, c.req.header("x-hub-signature-256")))) {
        logger.log("warn", "webhook.rejected", { channel: "whatsapp", reason: "bad_signature" });
        return errorResponse(c, 401, "UNAUTHORIZED", "Missing or wrong X-Hub-Signature-256.");
      }
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(raw));
      } catch {
        return errorResponse(c, 400, "INVALID_JSON", "The body is not valid JSON.");
      }
      const parsed = whatsappWebhook.safeParse(body);
      if (!parsed.success) {
        const details = issueDetails(parsed.error.issues);
        return errorResponse(c, 400, "INVALID_BODY", "The body is not a WhatsApp webhook payload.", details);
      }

      const { messages, ignored } = normalizeWhatsAppWebhook(address, parsed.data, new Date());
      if (ignored.length) logger.log("info", "webhook.ignored", { channel: "whatsapp", reasons: ignored.slice(0, 20) });
      try {
        // In order: a conversation's messages keep the order Meta listed them in.
        for (const message of messages) await inboundQueue.enqueue({ ...message, requestId: c.get("requestId") });
      } catch (error) {
        logger.log("error", "webhook.enqueue_failed", { channel: "whatsapp", ...describeError(error) });
        return errorResponse(c, 503, "QUEUE_UNAVAILABLE", "Could not accept the payload right now; retry later.");
      }
      logger.log("debug", "webhook.enqueued", { channel: "whatsapp", count: messages.length });
      return c.json({ ok: true, queued: messages.length, ignored: ignored.length });
    },
  );
