import { sql, type SQL } from "drizzle-orm";
import type { Database, Transaction } from "../../db/client";
import { withTenant } from "../../db/tenant";

/**
 * Upper bounds (ms) of the response-time histogram kept per rollup row; one more bucket counts
 * everything slower. p95 over any range merges these counts (see `percentileFromHistogram`).
 */
export const RESPONSE_BUCKETS_MS = [250, 500, 1000, 2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000] as const;

/** How far back each run recomputes before the newest hour already rolled up: covers turns that commit late. */
export const ROLLUP_LOOKBACK_MS = 2 * 3_600_000;

const hourOf = (column: SQL) => sql`date_trunc('hour', ${column}, 'UTC')`;

function histogramSql(ms: SQL): SQL {
  const parts: SQL[] = RESPONSE_BUCKETS_MS.map((bound, index) =>
    index === 0
      ? sql`count(*) filter (where ${ms} <= ${sql.raw(String(bound))})`
      : sql`count(*) filter (where ${ms} > ${sql.raw(String(RESPONSE_BUCKETS_MS[index - 1]))} and ${ms} <= ${sql.raw(String(bound))})`,
  );
  parts.push(sql`count(*) filter (where ${ms} > ${sql.raw(String(RESPONSE_BUCKETS_MS.at(-1)))})`);
  return sql`array[${sql.join(parts, sql`, `)}]::int[]`;
}

/**
 * Recomputes one tenant's hourly rollups from `from` (truncated to the hour) onwards, inside the
 * caller's tenant-scoped transaction: the hours are deleted and rebuilt from messages,
 * conversations and usage records, so a rerun gives the same rows (idempotent).
 * - traffic: inbound messages, replies sent and failed, conversations started, handoffs, and
 *   response times (reply sent − inbound received) with their histogram, by the reply's hour;
 * - usage: turns, failures, budget blocks, fallbacks, tokens, cost, model latency, tool calls and
 *   failures, knowledge chunks retrieved, by provider and model;
 * - tools: calls and failures by tool name; end users: who wrote in each hour.
 */
export async function refreshTenantRollups(tx: Transaction, tenantId: string, from: Date): Promise<void> {
  const start = sql`date_trunc('hour', ${from.toISOString()}::timestamptz, 'UTC')`;
  for (const table of ["analytics_traffic_hourly", "analytics_usage_hourly", "analytics_tools_hourly", "analytics_end_users_hourly"]) {
    await tx.execute(sql`delete from ${sql.identifier(table)} where tenant_id = ${tenantId} and hour >= ${start}`);
  }
  const responseMs = sql`(extract(epoch from (r.sent_at - q.created_at)) * 1000)`;
  // Histogram arrays summed element by element (no aggregate sums arrays).
  const summedHistogram = sql.raw(
    `array[${Array.from({ length: RESPONSE_BUCKETS_MS.length + 1 }, (_, i) => `coalesce(sum(h[${i + 1}]), 0)`).join(", ")}]::int[]`,
  );
  await tx.execute(sql`
    insert into analytics_traffic_hourly
      (tenant_id, hour, channel_id, agent_id, messages_in, messages_out, conversations_started, handoffs, send_failures, responses, response_ms_sum, response_histogram)
    select ${tenantId}, hour, channel_id, agent_id, sum(messages_in), sum(messages_out), sum(conversations_started), sum(handoffs), sum(send_failures),
           sum(responses), sum(response_ms_sum), ${summedHistogram}
    from (
      select ${hourOf(sql`m.created_at`)} as hour, c.channel_id, c.agent_id, count(*) as messages_in, 0 as messages_out, 0 as conversations_started,
             0 as handoffs, 0 as send_failures, 0 as responses, 0 as response_ms_sum, null::int[] as h
        from messages m join conversations c on c.id = m.conversation_id
        where m.tenant_id = ${tenantId} and m.direction = 'inbound' and m.created_at >= ${start}
        group by 1, 2, 3
      union all
      select ${hourOf(sql`r.created_at`)}, c.channel_id, c.agent_id, 0, count(*) filter (where r.status = 'sent'), 0, 0,
             count(*) filter (where r.status = 'failed'),
             count(*) filter (where r.status = 'sent' and r.sent_at is not null),
             coalesce(round(sum(${responseMs}) filter (where r.status = 'sent' and r.sent_at is not null)), 0)::bigint,
             ${histogramSql(sql`(case when r.status = 'sent' and r.sent_at is not null then ${responseMs} end)`)}
        from messages r join conversations c on c.id = r.conversation_id join messages q on q.id = r.reply_to_message_id
        where r.tenant_id = ${tenantId} and r.direction = 'outbound' and r.status in ('sent', 'failed') and r.created_at >= ${start}
        group by 1, 2, 3
      union all
      select ${hourOf(sql`c.created_at`)}, c.channel_id, c.agent_id, 0, 0, count(*), 0, 0, 0, 0, null
        from conversations c where c.tenant_id = ${tenantId} and c.created_at >= ${start}
        group by 1, 2, 3
      union all
      select ${hourOf(sql`c.handed_off_at`)}, c.channel_id, c.agent_id, 0, 0, 0, count(*), 0, 0, 0, null
        from conversations c where c.tenant_id = ${tenantId} and c.handed_off_at >= ${start}
        group by 1, 2, 3
    ) as parts
    group by hour, channel_id, agent_id`);

  await tx.execute(sql`
    insert into analytics_usage_hourly
      (tenant_id, hour, channel_id, agent_id, provider, model, turns, failed_turns, budget_blocked, fallbacks, input_tokens, output_tokens,
       cost_nano_usd, model_latency_ms_sum, tool_calls, tool_failures, knowledge_hits)
    select ${tenantId}, ${hourOf(sql`u.created_at`)}, c.channel_id, coalesce(u.agent_id, c.agent_id), u.provider, u.model,
           count(*), count(*) filter (where u.outcome = 'all_failed'), count(*) filter (where u.outcome = 'budget_blocked'),
           count(*) filter (where (select count(*) from jsonb_array_elements(u.fallback_path) e where e->>'purpose' = 'reply') > 1),
           sum(u.input_tokens), sum(u.output_tokens), sum(u.cost_nano_usd), sum(u.latency_ms),
           sum(jsonb_array_length(u.tool_calls)),
           sum((select count(*) from jsonb_array_elements(u.tool_calls) e where (e->>'ok')::boolean is not true)),
           sum(jsonb_array_length(u.retrieved_chunks))
      from usage_records u join conversations c on c.id = u.conversation_id
      where u.tenant_id = ${tenantId} and u.created_at >= ${start}
      group by 2, 3, 4, 5, 6`);

  await tx.execute(sql`
    insert into analytics_tools_hourly (tenant_id, hour, agent_id, tool, calls, failures)
    select ${tenantId}, ${hourOf(sql`u.created_at`)}, coalesce(u.agent_id, c.agent_id), left(e->>'name', 200), count(*),
           count(*) filter (where (e->>'ok')::boolean is not true)
      from usage_records u join conversations c on c.id = u.conversation_id cross join lateral jsonb_array_elements(u.tool_calls) e
      where u.tenant_id = ${tenantId} and u.created_at >= ${start} and e->>'name' is not null
      group by 2, 3, 4`);

  await tx.execute(sql`
    insert into analytics_end_users_hourly (tenant_id, hour, channel_id, agent_id, end_user)
    select distinct ${tenantId}::uuid, ${hourOf(sql`m.created_at`)}, c.channel_id, c.agent_id, left(coalesce(m.sender->>'id', c.external_key), 200)
      from messages m join conversations c on c.id = m.conversation_id
      where m.tenant_id = ${tenantId} and m.direction = 'inbound' and m.created_at >= ${start}`);
}

/**
 * One run of the rollup job over every tenant with traffic since `since` (a SECURITY DEFINER
 * lookup, migration 0012), each in its own tenant-scoped transaction. Each tenant's hours are
 * rebuilt from its newest rolled-up hour minus the lookback (all history the first time).
 */
export async function runRollups(db: Database, options: { since: Date; lookbackMs?: number }): Promise<{ tenants: number }> {
  const { rows } = await db.execute<{ tenant_id: string }>(
    sql`select analytics_active_tenants(${options.since.toISOString()}::timestamptz) as tenant_id`,
  );
  for (const { tenant_id: tenantId } of rows) {
    await withTenant(db, tenantId, async (tx) => {
      // One pool at a time per tenant: another pass rebuilding the same hours would collide on the keys.
      if (!(await tryTenantLock(tx, "analytics", tenantId))) return;
      const newest = await tx.execute<{ epoch: number | null }>(
        sql`select extract(epoch from max(hour))::float8 as epoch from analytics_traffic_hourly where tenant_id = ${tenantId}`,
      );
      const latest = newest.rows[0]?.epoch;
      const from = latest != null ? new Date(Number(latest) * 1000 - (options.lookbackMs ?? ROLLUP_LOOKBACK_MS)) : new Date(0);
      await refreshTenantRollups(tx, tenantId, from);
    });
  }
  return { tenants: rows.length };
}

/** A transaction-scoped advisory lock per tenant and job; false when another pool holds it. */
export async function tryTenantLock(tx: Transaction, job: string, tenantId: string): Promise<boolean> {
  const { rows } = await tx.execute<{ locked: boolean }>(
    sql`select pg_try_advisory_xact_lock(hashtext(${`${job}:${tenantId}`})) as locked`,
  );
  return rows[0]?.locked === true;
}
