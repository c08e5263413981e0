import { Hono } from "hono";
import { normalizeBillingEvent } from "../../../../core/billing/webhook";
import { issueDetails } from "../../../../core/errors";
import { stripeEvent, stripeSignatureRefusal, verifyStripeSignature } from "../../../../core/integrations/stripe/webhook";
import type { AppEnv } from "../../context";
import { errorResponse } from "../../errors";
import { decodeWebhookBody, enqueueNormalized, webhookBodyLimit } from "./intake";

/**
 * `POST /webhooks/billing/stripe`: the platform's own Stripe account (subscriptions and invoices of
 * the tenants it bills). Unlike the intake's sources it has no address: the secret is the
 * platform's (BILLING_STRIPE_WEBHOOK_SECRET) and the tenant is found by the customer in the pool.
 * It takes the intake's steps otherwise: the 1 MiB cap, `Stripe-Signature` checked over the raw
 * bytes before anything is parsed (400 `INVALID_SIGNATURE`, nothing queued), the event checked,
 * and the intake's shared enqueue (503 when the queue is down, so Stripe retries; the event id
 * deduplicates).
 */
export const billingWebhook = new Hono<AppEnv>().post("/stripe", webhookBodyLimit(), async (c) => {
  const secret = c.get("services").billing.stripe?.webhookSecret;
  const logger = c.get("logger");
  if (!secret) return errorResponse(c, 503, "BILLING_UNAVAILABLE", "Billing webhooks are not configured here.");
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const verdict = await verifyStripeSignature(secret, c.req.header("stripe-signature") ?? null, raw);
  if (verdict !== "ok") {
    logger.log("warn", "webhook.rejected", { channel: "billing", reason: `signature_${verdict}` });
    return errorResponse(c, 400, "INVALID_SIGNATURE", stripeSignatureRefusal(verdict));
  }
  const decoded = decodeWebhookBody(raw, "json");
  if (!decoded.ok) return errorResponse(c, 400, "INVALID_JSON", "The body is not valid JSON.");
  const parsed = stripeEvent.safeParse(decoded.body);
  if (!parsed.success) return errorResponse(c, 400, "INVALID_BODY", "The body is not a Stripe event.", issueDetails(parsed.error.issues));
  const result = normalizeBillingEvent(parsed.data, new Date());
  const accepted = await enqueueNormalized(c.get("services").inboundQueue, logger, "billing", result, c.get("requestId"));
  if (accepted === "queue_unavailable")
    return errorResponse(c, 503, "QUEUE_UNAVAILABLE", "Could not accept the event right now; retry later.");
  return c.json({ received: true, queued: result.messages.length, ignored: result.ignored.length });
});
