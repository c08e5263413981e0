import { parseChannelEmailAddress } from "../../core/channels/email/address";
import { MAX_EMAIL_BYTES, normalizeEmail } from "../../core/channels/email/normalize";
import { describeError } from "../../core/observability/log";
import { defaultServices, servicesLoader, type ServicesFactory } from "./app";
import type { Env } from "./env";
import { enqueueNormalized } from "./routes/webhooks/intake";
import { isStopped } from "./stopped-tenants";

/** What the handler uses of Cloudflare's `ForwardableEmailMessage` (the local SMTP server builds the same through Miniflare's `/cdn-cgi/handler/email`). */
export type InboundEmailMessage = Pick<ForwardableEmailMessage, "from" | "to" | "raw" | "rawSize" | "setReject">;

/**
 * The `email()` handler: Cloudflare Email Routing hands it every message for EMAIL_DOMAIN (a
 * catch-all rule). With no database round trip it finds the channel from the recipient (an
 * address signed like the webhook secrets), refuses with a reason (`setReject`: the sender gets a
 * bounce that says why) mail to an unknown address, above 20 MiB, or that is not MIME, normalises
 * the rest (core/channels/email/normalize.ts) and queues it through the webhooks' last step. When
 * the queue cannot take it, the handler throws: Cloudflare answers the sending server with a
 * temporary failure and it retries, so no mail is lost; a redelivery has the same Message-ID, so it
 * is answered once.
 */
export function newEmailHandler(makeServices: ServicesFactory = defaultServices) {
  const servicesFor = servicesLoader(makeServices);
  return async (message: InboundEmailMessage, env: Env): Promise<void> => {
    const services = servicesFor(env);
    if (!services) throw new Error("the edge is misconfigured; the sending server will retry");
    const requestId = crypto.randomUUID();
    const logger = services.logger.child({ requestId });
    const domain = services.config.EMAIL_DOMAIN;
    const refuse = async (reason: string, text: string) => {
      logger.log("warn", "email.rejected", { reason, size: message.rawSize });
      // A plain call in production; locally wrangler hands the message over RPC, where it is a promise to wait for.
      await (message.setReject(text) as unknown as Promise<void> | undefined);
    };
    if (!domain) return refuse("no_email_domain", "This domain does not accept mail.");
    const recipient = await parseChannelEmailAddress(services.config.WEBHOOK_SIGNING_KEY, message.to, domain);
    if (!recipient.ok) return refuse(recipient.reason, "No agent receives mail at this address.");
    if (message.rawSize > MAX_EMAIL_BYTES) return refuse("too_large", `The message is larger than ${MAX_EMAIL_BYTES / 1024 / 1024} MiB.`);

    if (await isStopped(env, recipient.address.tenantId))
      return refuse("tenant_stopped", "No agent receives mail at this address any more.");
    const channelLogger = logger.child({ tenantId: recipient.address.tenantId, channelId: recipient.address.channelId });
    const raw = new Uint8Array(await new Response(message.raw).arrayBuffer());
    let result;
    try {
      result = await normalizeEmail({ address: recipient.address, raw, receivedAt: new Date(), ownDomain: domain });
    } catch (error) {
      channelLogger.log("warn", "email.unreadable", describeError(error));
      return refuse("malformed", "The message could not be read as MIME email.");
    }
    const accepted = await enqueueNormalized(services.inboundQueue, channelLogger, "email", result, requestId);
    if (accepted !== "queued") throw new Error(`email not queued (${accepted}); the sending server will retry`);
  };
}
