import { sql } from "drizzle-orm";
import type { Database, Transaction } from "../../db/client";
import { withTenant } from "../../db/tenant";
import { recordAudit } from "../access/audit";
import { tryTenantLock } from "../analytics/rollup";

/** Rows one statement touches, so a tenant's first pass over years of history never holds a long transaction. */
const BATCH = 5_000;
/** Batches per tenant and pass; the rest waits for the next pass. */
const MAX_BATCHES = 20;

export const ANONYMISED_CONTENT = "[removed by the retention policy]";

export interface RetentionDependencies {
  db: Database;
  /** Forgets the agent's long-term memory of turns before `cutoff` (Chroma); absent without it. */
  forgetBefore?: (tenantId: string, cutoff: Date) => Promise<void>;
}

export interface RetentionOutcome {
  tenantId: string;
  mode: "delete" | "anonymise";
  cutoff: Date;
  messages: number;
  conversations: number;
  /** More was due than one pass handles; the next pass goes on. */
  more: boolean;
}

/**
 * Applies each tenant's retention policy (`settings.retention`, core/tenants/settings.ts) as of
 * `now`: messages created before `now - messagesDays` are deleted, or anonymised (content replaced,
 * sender dropped); conversations left empty are deleted, and in anonymise mode those quiet since the
 * cutoff lose their channel key (a chat id, a phone number); summaries of conversations that lost
 * messages are dropped (they may quote them); hourly end-user analytics rows before the cutoff are
 * deleted or pseudonymised; the agent's memory of those turns is forgotten. In batches, each tenant
 * in its own transaction under a per-tenant advisory lock, so several pools may run it; a repeated
 * pass finds nothing to do. One audit record per tenant and pass that changed something.
 */
export async function runRetention(deps: RetentionDependencies, now: Date): Promise<RetentionOutcome[]> {
  const { rows } = await deps.db.execute<{ tenant_id: string; days: number; mode: string }>(
    sql`select tenant_id, days, mode from retention_tenants()`,
  );
  const outcomes: RetentionOutcome[] = [];
  for (const row of rows) {
    if (!Number.isInteger(row.days) || row.days < 1) continue;
    const mode = row.mode === "anonymise" ? "anonymise" : "delete";
    const cutoff = new Date(now.getTime() - row.days * 86_400_000);
    const outcome = await withTenant(deps.db, row.tenant_id, (tx) => applyPolicy(tx, row.tenant_id, mode, cutoff, row.days));
    if (!outcome) continue;
    if (outcome.messages > 0 || outcome.conversations > 0) await deps.forgetBefore?.(row.tenant_id, cutoff);
    outcomes.push(outcome);
  }
  return outcomes;
}

async function applyPolicy(
  tx: Transaction,
  tenantId: string,
  mode: "delete" | "anonymise",
  cutoff: Date,
  days: number,
): Promise<RetentionOutcome | undefined> {
  if (!(await tryTenantLock(tx, "retention", tenantId))) return undefined;
  const before = cutoff.toISOString();
  let messages = 0;
  let more = false;
  const touched = new Set<string>();
  for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
    const { rows } =
      mode === "delete"
        ? await tx.execute<{ conversation_id: string }>(sql`
            delete from messages where id in (
              select id from messages where tenant_id = ${tenantId} and created_at < ${before}::timestamptz limit ${BATCH})
            returning conversation_id`)
        : await tx.execute<{ conversation_id: string }>(sql`
            update messages set content = ${ANONYMISED_CONTENT}, sender = null where id in (
              select id from messages where tenant_id = ${tenantId} and created_at < ${before}::timestamptz
                and (sender is not null or content <> ${ANONYMISED_CONTENT}) limit ${BATCH})
            returning conversation_id`);
    messages += rows.length;
    for (const row of rows) touched.add(row.conversation_id);
    if (rows.length < BATCH) break;
    more = batch === MAX_BATCHES - 1;
  }
  if (touched.size) {
    await tx.execute(sql`
      update conversations set summary = null, summary_through = null
       where tenant_id = ${tenantId} and id in ${[...touched]} and summary is not null`);
  }
  const { rows: conversations } =
    mode === "delete"
      ? await tx.execute<{ id: string }>(sql`
          delete from conversations c where c.tenant_id = ${tenantId} and c.last_message_at < ${before}::timestamptz
             and not exists (select 1 from messages m where m.conversation_id = c.id)
          returning c.id`)
      : await tx.execute<{ id: string }>(sql`
          update conversations set external_key = 'anonymised:' || id::text
           where tenant_id = ${tenantId} and last_message_at < ${before}::timestamptz and external_key not like 'anonymised:%'
          returning id`);
  if (mode === "delete") {
    await tx.execute(sql`delete from analytics_end_users_hourly where tenant_id = ${tenantId} and hour < ${before}::timestamptz`);
  } else {
    // A fresh pseudonym per row: an hour's distinct count stays, nobody can be followed across hours.
    await tx.execute(sql`
      update analytics_end_users_hourly set end_user = 'anonymised:' || md5(end_user || gen_random_uuid()::text)
       where tenant_id = ${tenantId} and hour < ${before}::timestamptz and end_user not like 'anonymised:%'`);
  }
  const outcome = { tenantId, mode, cutoff, messages, conversations: conversations.length, more };
  if (messages > 0 || conversations.length > 0) {
    await recordAudit(
      { tenantId, actor: { type: "system", id: "retention" }, tx },
      {
        action: "retention.apply",
        resourceType: "tenant",
        resourceId: tenantId,
        after: { mode, days, cutoff: before, messages, conversations: conversations.length, more },
      },
    );
  }
  return outcome;
}
