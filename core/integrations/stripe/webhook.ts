import { z } from "zod";
import type { ChannelWebhook, NormalizedPayload, Verification, WebhookRequest } from "../../channels/adapter";
import type { ChannelAddress } from "../../channels/address";
import { constantTimeEqual, hmacSha256Hex } from "../../crypto/hmac";
import { openWebhookSeal } from "../../channels/credentials";
import { integrationEventMessage } from "../../queue/builders";
import type { InboundMessage } from "../../queue/inbound-message";
import { base } from "../config";
import { providerJson } from "../http";
import { type IntegrationWebhook, type ProviderAccess, type ProviderHttp } from "../types";

/**
 * Stripe's events for one connection, at `/webhooks/stripe/<tenant>.<connection>` through the edge's
 * one webhook intake, with no database round trip. Connecting registers a webhook endpoint on the
 * tenant's Stripe account; Stripe makes its signing secret (`whsec_…`) and we cannot choose it, so
 * the endpoint's URL carries that secret sealed for the edge (`?s=`, AES-256-GCM under the
 * platform keyring, bound to the tenant and `stripe-webhook:<connection>`): the edge opens it and
 * checks `Stripe-Signature` (HMAC-SHA256 over `<t>.<raw body>`, a five-minute tolerance) before
 * anything is parsed. A forged or stale signature answers 400 and nothing is queued.
 *
 * Hand-written verification (not `stripe.webhooks.constructEvent`): the edge does not load the
 * Stripe SDK (wrangler.toml `[alias]`), and the scheme is one HMAC that core/crypto already has.
 */

/** Stripe's own default tolerance for `t` in `Stripe-Signature`. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
const EVENTS = ["checkout.session.completed", "payment_intent.succeeded"] as const;

/** Checks `Stripe-Signature: t=…,v1=…[,v1=…]` against the raw body. */
export async function verifyStripeSignature(
  secret: string,
  header: string | null,
  rawBody: Uint8Array,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<"ok" | "missing" | "stale" | "mismatch"> {
  if (!header) return "missing";
  const parts = header.split(",").map((part) => part.trim().split("="));
  const timestamp = Number(parts.find(([key]) => key === "t")?.[1]);
  const signatures = parts.filter(([key]) => key === "v1").map(([, value]) => value ?? "");
  if (!Number.isInteger(timestamp) || signatures.length === 0) return "missing";
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return "stale";
  const signed = new Uint8Array(new TextEncoder().encode(`${timestamp}.`).length + rawBody.length);
  signed.set(new TextEncoder().encode(`${timestamp}.`));
  signed.set(rawBody, signed.length - rawBody.length);
  const expected = await hmacSha256Hex(secret, signed);
  return signatures.some((signature) => constantTimeEqual(signature, expected)) ? "ok" : "mismatch";
}

/** What a refused `Stripe-Signature` is told (the integrations' endpoints and the platform's billing one). */
export function stripeSignatureRefusal(verdict: "missing" | "stale" | "mismatch"): string {
  return verdict === "stale" ? "The Stripe-Signature timestamp is outside the tolerance." : "Missing or wrong Stripe-Signature.";
}

export const stripeEvent = z
  .object({
    id: z.string().regex(/^evt_[A-Za-z0-9]+$/),
    object: z.literal("event"),
    type: z.string().min(1).max(128),
    created: z.number().int(),
    account: z.string().max(64).optional(),
    data: z.object({ object: z.record(z.string(), z.unknown()) }),
  })
  .passthrough();
export type StripeEvent = z.infer<typeof stripeEvent>;

const uuid = z.uuid();
const text = (value: unknown) => (typeof value === "string" && value.length <= 128 ? value : undefined);

function normalizeStripeEvent(address: ChannelAddress, event: StripeEvent, receivedAt: Date): NormalizedPayload {
  const object = event.data.object;
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const conversationId = uuid.safeParse(metadata.conversation_id).success ? (metadata.conversation_id as string) : undefined;
  const currency = text(object.currency);
  let payment: NonNullable<Extract<InboundMessage, { kind: "integration.event" }>["payment"]> | undefined;
  if (event.type === "checkout.session.completed") {
    if (object.payment_status !== "paid")
      return { messages: [], ignored: [`checkout session not paid (${String(object.payment_status)})`] };
    const amount = object.amount_total;
    if (typeof amount !== "number" || !currency) return { messages: [], ignored: ["checkout session without an amount"] };
    const paymentIntentId = text(object.payment_intent);
    const paymentLinkId = text(object.payment_link);
    payment = {
      amount,
      currency,
      ...(paymentIntentId ? { paymentIntentId } : {}),
      ...(paymentLinkId ? { paymentLinkId } : {}),
      ...(conversationId ? { conversationId } : {}),
    };
  } else if (event.type === "payment_intent.succeeded") {
    const amount = object.amount_received;
    if (typeof amount !== "number" || !currency) return { messages: [], ignored: ["payment intent without an amount"] };
    payment = {
      amount,
      currency,
      ...(text(object.id) ? { paymentIntentId: text(object.id)! } : {}),
      ...(conversationId ? { conversationId } : {}),
    };
  } else {
    return { messages: [], ignored: [`event type ${event.type} is not handled`] };
  }
  return {
    messages: [
      integrationEventMessage({
        tenantId: address.tenantId,
        connectionId: address.channelId,
        provider: "stripe",
        eventId: event.id,
        eventType: event.type,
        payment,
        receivedAt,
      }),
    ],
    ignored: [],
  };
}

const refusal = (reason: string, message: string): Verification => ({ ok: false, status: 400, reason, message });

const intake: ChannelWebhook = {
  async verifyBody(request: WebhookRequest, rawBody: Uint8Array): Promise<Verification> {
    const { keyring } = request.secrets;
    if (!keyring) return { ok: false, status: 503, reason: "no_keyring", message: "Stripe webhooks are not configured here." };
    const secret = await openWebhookSeal(keyring, "stripe", request.address, request.query.get("s"));
    if (secret === undefined) return refusal("bad_secret", "This webhook URL is not one we registered.");
    const verdict = await verifyStripeSignature(secret, request.headers.get("stripe-signature"), rawBody);
    if (verdict === "ok") return { ok: true };
    return refusal(`signature_${verdict}`, stripeSignatureRefusal(verdict));
  },
  payload: stripeEvent,
  payloadName: "a Stripe event",
  normalize: (address, payload: StripeEvent, receivedAt) => normalizeStripeEvent(address, payload, receivedAt),
  acknowledge: ({ messages, ignored }) => ({ received: true, queued: messages.length, ignored: ignored.length }),
};

/** Connect: the platform key acting for the connected account; a restricted key: itself. */
export function stripeHeaders(access: ProviderAccess): Record<string, string> {
  const platformKey = access.config.STRIPE_SECRET_KEY;
  if (access.accountId && platformKey) return { authorization: `Bearer ${platformKey}`, "stripe-account": access.accountId };
  return { authorization: `Bearer ${access.accessToken}` };
}

const form = (fields: Array<[string, string]>) => new URLSearchParams(fields).toString();

export const stripeWebhook: IntegrationWebhook = {
  intake,
  events: EVENTS,
  async register(access: ProviderAccess, target, http: ProviderHttp) {
    const api = `${base(http.config.STRIPE_API_BASE)}/v1/webhook_endpoints`;
    const headers = { ...stripeHeaders(access), "content-type": "application/x-www-form-urlencoded" };
    const created = await providerJson<{ id?: string; secret?: string }>("Stripe", http.fetch, api, {
      method: "POST",
      headers,
      body: form([
        ["url", target.url],
        ["description", "Agent platform: payments for agent conversations"],
        ...EVENTS.map((e): [string, string] => ["enabled_events[]", e]),
      ]),
    });
    if (!created?.id || !created.secret) throw new Error("Stripe answered the webhook endpoint without an id or secret.");
    // The secret exists only now: the URL is updated to carry it, sealed.
    await providerJson("Stripe", http.fetch, `${api}/${encodeURIComponent(created.id)}`, {
      method: "POST",
      headers,
      body: form([["url", `${target.url}?s=${await target.seal(created.secret)}`]]),
    });
    return { webhookEndpointId: created.id };
  },
  async unregister(access, facts, http) {
    const id = facts.webhookEndpointId;
    if (typeof id !== "string") return;
    await providerJson("Stripe", http.fetch, `${base(http.config.STRIPE_API_BASE)}/v1/webhook_endpoints/${encodeURIComponent(id)}`, {
      method: "DELETE",
      headers: stripeHeaders(access),
    });
  },
};
