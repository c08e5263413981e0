import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { parseChannelAddress } from "../../../../core/channels/address";
import { normalizeTelegramUpdate } from "../../../../core/channels/telegram/normalize";
import { telegramUpdate, updateKind } from "../../../../core/channels/telegram/update";
import { verifyTelegramSecret } from "../../../../core/channels/telegram/webhook-secret";
import { describeError } from "../../../../core/observability/log";
import type { AppEnv } from "../../context";
import { ApiError, errorResponse } from "../../errors";
import { issueDetails } from "../../../../core/errors";

/** Telegram sends updates well under this; anything larger is not an update. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/**
 * `POST /webhooks/telegram/:channelId`: verify the secret header (derived from the signing key and
 * the channel address, so no database round trip), validate, normalise, enqueue, answer 200.
 * A 503 when the queue is down makes Telegram retry, so nothing is lost.
 */
export const telegramWebhook = new Hono<AppEnv>().post(
  "/:channelId",
  async (c, next) => {
    const address = parseChannelAddress(c.req.param("channelId"));
    if (!address) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
    const { config } = c.get("services");
    const presented = c.req.header("x-telegram-bot-api-secret-token");
    if (!(await verifyTelegramSecret(config.WEBHOOK_SIGNING_KEY, address, presented))) {
      c.get("logger").log("warn", "webhook.rejected", { channel: "telegram", reason: "bad_secret" });
      return errorResponse(c, 401, "UNAUTHORIZED", "Missing or wrong X-Telegram-Bot-Api-Secret-Token.");
    }
    await next();
  },
  bodyLimit({
    maxSize: MAX_WEBHOOK_BODY_BYTES,
    onError: (c) => errorResponse(c, 413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB."),
  }),
  async (c) => {
    const address = parseChannelAddress(c.req.param("channelId"))!;
    const logger = c.get("logger").child({ tenantId: address.tenantId, channelId: address.channelId });
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError(400, "INVALID_JSON", "The body is not valid JSON.");
    }
    const parsed = telegramUpdate.safeParse(body);
    if (!parsed.success) {
      const details = issueDetails(parsed.error.issues);
      throw new ApiError(400, "INVALID_BODY", "The body is not a Telegram update.", details);
    }

    const normalized = normalizeTelegramUpdate(address, parsed.data, new Date());
    if (!normalized.handled) {
      // Counted through the structured log (Workers Logs / Analytics), and acknowledged so Telegram does not retry.
      logger.log("info", "webhook.ignored", { channel: "telegram", reason: normalized.reason, kind: updateKind(parsed.data) });
      return c.json({ ok: true, ignored: normalized.reason });
    }

    try {
      await c.get("services").inboundQueue.enqueue({ ...normalized.message, requestId: c.get("requestId") });
    } catch (error) {
      logger.log("error", "webhook.enqueue_failed", { channel: "telegram", ...describeError(error) });
      return errorResponse(c, 503, "QUEUE_UNAVAILABLE", "Could not accept the update right now; retry later.");
    }
    logger.log("debug", "webhook.enqueued", { channel: "telegram", providerMessageId: normalized.message.providerMessageId });
    return c.json({ ok: true });
  },
);
