import { runRollups } from "../../core/analytics/rollup";
import { describeError, type Logger } from "../../core/observability/log";
import type { Database } from "../../db/client";
import { purgeDueTenants, type PurgeDependencies } from "../../core/tenants/deletion";
import { runRetention, type RetentionDependencies } from "../../core/tenants/retention";
import { runAlerting, type AlertDeliveryDeps } from "./alerts";
import { reportUsage, type UsageReportDependencies } from "./billing";

export interface PeriodicJobs {
  /** One pass now (tests and the first tick). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The pool's periodic work, every `intervalMs`: the analytics rollups (tenants with traffic since
 * the previous pass, all of them on the first), then tenant alert rules and their notifications,
 * then the tenants' retention policies, then the purge of tenants deleted longer ago than their grace period,
 * then the usage reports of the previous days to the platform's Stripe meter (each day once, by its identifier).
 * Several pools may run it at once: rollups rebuild whole hours idempotently, and deliveries are
 * claimed before sending. A pass never overlaps the previous one.
 */
export function startPeriodicJobs(options: {
  db: Database;
  logger: Logger;
  intervalMs: number;
  alerting: AlertDeliveryDeps;
  /** Tenants' retention policies (core/tenants/retention.ts); absent: not applied by this pool. */
  retention?: RetentionDependencies;
  /** Purges tenants whose deletion grace period is over (core/tenants/deletion.ts); absent: not by this pool. */
  purge?: PurgeDependencies;
  /** Reports subscribed tenants' usage to the platform's Stripe meter (workers/pool/billing.ts); absent: not by this pool. */
  billing?: UsageReportDependencies;
  now?: () => Date;
}): PeriodicJobs {
  let lastPass = new Date(0);
  let running: Promise<void> | undefined;
  const pass = async () => {
    const started = new Date();
    try {
      const rollups = await runRollups(options.db, { since: new Date(lastPass.getTime() - 5 * 60_000) });
      lastPass = started;
      const alerting = await runAlerting(options.alerting);
      const now = (options.now ?? (() => new Date()))();
      const retention = options.retention ? await runRetention(options.retention, now) : [];
      const purged = options.purge ? await purgeDueTenants(options.purge, now) : [];
      if (options.billing) await reportUsage(options.billing, now);
      for (const tenantId of purged) options.logger.log("info", "jobs.tenant_purged", { tenantId });
      for (const applied of retention) {
        if (applied.messages || applied.conversations)
          options.logger.log("info", "jobs.retention_applied", { ...applied, cutoff: applied.cutoff.toISOString() });
      }
      options.logger.log("debug", "jobs.pass", { rollupTenants: rollups.tenants, ...alerting, retentionTenants: retention.length });
    } catch (error) {
      options.logger.log("error", "jobs.pass_failed", describeError(error));
    }
  };
  const runOnce = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void runOnce(), options.intervalMs);
  timer.unref();
  // The first pass soon after start (catching up on history), not a whole interval later.
  const first = setTimeout(() => void runOnce(), Math.min(options.intervalMs, 2_000));
  first.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      clearTimeout(first);
      await running;
    },
  };
}
