import { and, eq, sql } from "drizzle-orm";
import type { DeliveryStatusMessage } from "../../../core/queue/inbound-message";
import { channels, messages } from "../../../db/schema";
import { withTenant } from "../../../db/tenant";
import type { MessageHandler } from "./types";

const RANK = sql`case ${messages.deliveryStatus} when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'failed' then 4 else 0 end`;
const RANK_OF: Record<DeliveryStatusMessage["status"], number> = { sent: 1, delivered: 2, read: 3, failed: 4 };

/**
 * `delivery.status`: a channel's report on a reply we sent (WhatsApp `statuses`, Twilio's status
 * callbacks, a voice call's interruption with what was heard): written on the reply whose provider
 * ids include the reported one, never moving backwards (statuses can arrive out of order: `read`
 * is not undone by a late `delivered`; `failed` wins). No agent runs. A status for a message the
 * platform did not send (e.g. from WhatsApp Manager) matches nothing and is only logged, as does
 * one addressed to another phone number than the channel's (`accountId`).
 */
export const handleDeliveryStatus: MessageHandler<DeliveryStatusMessage> = async (deps, status) => {
  const updated = await withTenant(deps.db, status.tenantId, (tx) =>
    tx
      .update(messages)
      .set({
        deliveryStatus: status.status,
        ...(status.status === "failed" ? { error: `delivery failed: ${status.error ?? "no reason given"}`.slice(0, 500) } : {}),
        // An interrupted voice reply: the conversation remembers what the caller heard, not what was written.
        ...(status.spoken !== undefined ? { content: status.spoken } : {}),
      })
      .where(
        and(
          eq(messages.tenantId, status.tenantId),
          eq(messages.channelId, status.channelId),
          eq(messages.direction, "outbound"),
          sql`${status.outboundProviderMessageId} = any(string_to_array(${messages.providerMessageId}, ','))`,
          sql`${RANK} < ${RANK_OF[status.status]}`,
          status.accountId
            ? sql`exists (select 1 from ${channels} c where c.tenant_id = ${status.tenantId} and c.id = ${status.channelId} and c.config->>'phoneNumberId' = ${status.accountId})`
            : undefined,
        ),
      )
      .returning({ id: messages.id }),
  );
  deps.logger.log(updated.length ? "debug" : "info", updated.length ? "turn.delivery_status" : "turn.delivery_status_unmatched", {
    tenantId: status.tenantId,
    channelId: status.channelId,
    status: status.status,
  });
  return "status_recorded";
};
