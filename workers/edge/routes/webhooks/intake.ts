import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ChannelWebhook, NormalizedPayload, WebhookRequest } from "../../../../core/channels/adapter";
import type { Logger } from "../../../../core/observability/log";
import { parseChannelAddress } from "../../../../core/channels/address";
import { channelAdapter, webhookRoutes } from "../../../../core/channels/registry";
import { integrationProvider } from "../../../../core/integrations/registry";
import { PROVIDER_IDS } from "../../../../core/integrations/types";
import { issueDetails } from "../../../../core/errors";
import { describeError } from "../../../../core/observability/log";
import { enqueueInOrder, type InboundQueue } from "../../../../core/queue/sqs";
import type { AppEnv } from "../../context";
import { errorResponse } from "../../errors";
import { isStopped } from "../../stopped-tenants";
import { publicBaseUrl } from "../v1/run";

/** Providers send webhooks well under this; anything larger is not one of theirs. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/**
 * Queue messages one webhook may produce (WhatsApp batches messages and statuses; Meta sends far
 * fewer in one payload): 100 `SendMessageBatch` calls at most, within a Worker's and the provider's
 * time. A larger payload answers 413 before anything is queued.
 */
export const MAX_MESSAGES_PER_WEBHOOK = 1000;

type Found = { kind: string; webhook: ChannelWebhook; request: WebhookRequest };

/** The intake's context: what the POST's first step looked up is handed to its last. */
type IntakeEnv = { Bindings: AppEnv["Bindings"]; Variables: AppEnv["Variables"] & { webhook: Found } };

/**
 * `/webhooks/<kind>/:channelId`, the one webhook intake of every channel kind and of every
 * integration with events (Stripe: the address is then `<tenant uuid>.<connection uuid>`; see
 * {@link webhookSources}), with no database on the path: the source's hooks verify, validate and
 * normalise; this intake adds what is the same
 * for all: the 404 for an unknown kind or a malformed address, the 1 MiB cap (413), the JSON
 * parse of the bytes as received (400 `INVALID_JSON`; a form for Twilio), the payload check (400 `INVALID_BODY` with
 * the fields), and the enqueue of every message in the provider's order. A 503 when the queue is
 * down makes the provider retry; the deduplication ids keep what was queued already from being
 * queued twice, so nothing is lost and nothing doubled.
 */
export function webhookIntake(kind: string, find: (kind: string) => ChannelWebhook | undefined = (k) => channelAdapter(k)?.webhook) {
  return new Hono<IntakeEnv>()
    .get("/:channelId", async (c) => {
      const found = lookUp(c, kind, find);
      if (found instanceof Response) return found;
      if (!found.webhook.handshake) return errorResponse(c, 404, "NOT_FOUND", "No such route.");
      const answer = await found.webhook.handshake(found.request);
      if (answer.status !== 200) c.get("logger").log("warn", "webhook.rejected", { channel: found.kind, reason: "bad_verify_token" });
      return c.text(answer.text, answer.status);
    })
    .post(
      "/:channelId",
      async (c, next) => {
        const found = lookUp(c, kind, find);
        if (found instanceof Response) return found;
        const verified = (await found.webhook.verifyRequest?.(found.request)) ?? { ok: true };
        if (!verified.ok) return rejected(c, found, verified);
        c.set("webhook", found);
        await next();
      },
      webhookBodyLimit(),
      async (c) => {
        const found = c.get("webhook");
        const { address } = found.request;
        const logger = c.get("logger").child({ tenantId: address.tenantId, channelId: address.channelId });
        const raw = new Uint8Array(await c.req.arrayBuffer());
        const verified = (await found.webhook.verifyBody?.(found.request, raw)) ?? { ok: true };
        if (!verified.ok) return rejected(c, found, verified);

        const decoded = decodeWebhookBody(raw, found.webhook.format ?? "json");
        if (!decoded.ok) {
          return found.webhook.format === "form"
            ? errorResponse(c, 400, "INVALID_BODY", "The body is not a UTF-8 form.")
            : errorResponse(c, 400, "INVALID_JSON", "The body is not valid JSON.");
        }
        const parsed = found.webhook.payload.safeParse(decoded.body);
        if (!parsed.success) {
          return errorResponse(c, 400, "INVALID_BODY", `The body is not ${found.webhook.payloadName}.`, issueDetails(parsed.error.issues));
        }

        // A tenant stopped for deletion: the provider is told the endpoint is gone (nothing is queued).
        if (await isStopped(c.env, address.tenantId)) {
          logger.log("info", "webhook.tenant_stopped", { channel: found.kind });
          return errorResponse(c, 410, "GONE", "This endpoint's tenant has been deleted.");
        }
        const result = await found.webhook.normalize(address, parsed.data as never, new Date(), found.request);
        const accepted = await enqueueNormalized(c.get("services").inboundQueue, logger, found.kind, result, c.get("requestId"));
        if (accepted === "too_many_messages") {
          return errorResponse(c, 413, "PAYLOAD_TOO_LARGE", `More than ${MAX_MESSAGES_PER_WEBHOOK} messages in one payload.`);
        }
        if (accepted === "queue_unavailable")
          return errorResponse(c, 503, "QUEUE_UNAVAILABLE", "Could not accept the update right now; retry later.");
        const answer = await found.webhook.acknowledge(result, { request: found.request, payload: parsed.data as never });
        return answer instanceof Response ? answer : c.json(answer);
      },
    );
}

/** The 1 MiB cap of every webhook: 413 `PAYLOAD_TOO_LARGE` beyond it, before anything is read. */
export function webhookBodyLimit() {
  return bodyLimit({
    maxSize: MAX_WEBHOOK_BODY_BYTES,
    onError: (c) => errorResponse(c, 413, "PAYLOAD_TOO_LARGE", "The body is larger than 1 MiB."),
  });
}

/** A webhook's bytes as received: strict UTF-8, then JSON or a form; not ok when they are neither. */
export function decodeWebhookBody(raw: Uint8Array, format: "json" | "form"): { ok: true; body: unknown } | { ok: false } {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(raw);
    return { ok: true, body: format === "form" ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * The last step of every intake (the webhook routes and the `email()` handler): the reasons for
 * what was left out go to the structured log (Workers Logs / Analytics: the provider is
 * acknowledged, so it does not retry them), then every message is queued in the provider's order
 * (batches of 10). `queue_unavailable`: nothing may be acknowledged; the provider retries and the
 * deduplication ids keep what was queued already from being queued twice.
 */
export async function enqueueNormalized(
  queue: InboundQueue,
  logger: Logger,
  kind: string,
  result: NormalizedPayload,
  requestId: string | undefined,
): Promise<"queued" | "too_many_messages" | "queue_unavailable"> {
  if (result.ignored.length) logger.log("info", "webhook.ignored", { channel: kind, reasons: result.ignored.slice(0, 20) });
  if (result.messages.length > MAX_MESSAGES_PER_WEBHOOK) {
    logger.log("warn", "webhook.too_many_messages", { channel: kind, count: result.messages.length });
    return "too_many_messages";
  }
  try {
    await enqueueInOrder(
      queue,
      result.messages.map((message) => (requestId ? { ...message, requestId } : message)),
    );
  } catch (error) {
    logger.log("error", "webhook.enqueue_failed", { channel: kind, ...describeError(error) });
    return "queue_unavailable";
  }
  logger.log("debug", "webhook.enqueued", { channel: kind, count: result.messages.length });
  return "queued";
}

/** Every source of webhooks: the channel kinds with one, then the integrations with events (Stripe). */
export function webhookSources(): Array<{ kind: string; find: (kind: string) => ChannelWebhook | undefined }> {
  return [
    ...webhookRoutes().map(({ route, adapter }) => ({ kind: route, find: () => adapter.webhook })),
    ...PROVIDER_IDS.filter((id) => integrationProvider(id).webhook).map((id) => ({
      kind: id,
      find: () => integrationProvider(id).webhook?.intake,
    })),
  ];
}

function lookUp(c: Context<IntakeEnv>, kind: string, find: (kind: string) => ChannelWebhook | undefined): Found | Response {
  const webhook = find(kind);
  if (!webhook) return errorResponse(c, 404, "NOT_FOUND", "No such route.");
  const address = parseChannelAddress(c.req.param("channelId") ?? "");
  if (!address) return errorResponse(c, 404, "NOT_FOUND", "Unknown channel.");
  const { config, keyring } = c.get("services");
  const received = new URL(c.req.url);
  return {
    kind,
    webhook,
    request: {
      address,
      // As the provider was given it (Twilio signs the URL): our public base, then the path and query received.
      url: `${publicBaseUrl(c).replace(/\/+$/, "")}${received.pathname}${received.search}`,
      headers: c.req.raw.headers,
      query: received.searchParams,
      secrets: {
        signingKey: config.WEBHOOK_SIGNING_KEY,
        whatsappAppSecret: config.WHATSAPP_APP_SECRET,
        keyring,
        snsTrustedBase: config.SNS_TRUSTED_BASE_URL,
      },
    },
  };
}

function rejected(c: Context<IntakeEnv>, found: Found, verified: { status: 400 | 401 | 403 | 503; reason: string; message: string }) {
  if (verified.status === 503) return errorResponse(c, 503, "CHANNELS_UNAVAILABLE", verified.message);
  c.get("logger").log("warn", "webhook.rejected", { channel: found.kind, reason: verified.reason });
  if (verified.status === 400) return errorResponse(c, 400, "INVALID_SIGNATURE", verified.message);
  return errorResponse(c, verified.status === 403 ? 403 : 401, verified.status === 403 ? "FORBIDDEN" : "UNAUTHORIZED", verified.message);
}
