import type { Database } from "../../db/client";
import type { DataJob } from "../knowledge/jobs";
import { loadTransfer, runExport, updateTransfer, type DataTransferDependencies } from "./export";
import { runImport } from "./import";

/**
 * Runs a `data.export` or `data.import` job from the jobs queue. A pool without an exports bucket
 * (`EXPORTS_BUCKET`) cannot: it marks the request failed with that reason rather than letting the
 * job retry into the dead-letter queue. After an import, `afterImport` builds the new tenant's
 * Chroma collections from the imported chunks and turns (the pool passes the reindex); a failure
 * there retries the job, which finds the import done and builds them again.
 */
export async function runDataJob(
  deps: DataTransferDependencies | undefined,
  db: Database,
  job: DataJob,
  options: { lastAttempt?: boolean } = {},
): Promise<"ready" | "gone" | "failed"> {
  if (!deps) {
    await updateTransfer(db, job.tenantId, job.transferId, {
      status: "failed",
      error: "exports are not configured on this server (EXPORTS_BUCKET)",
      finishedAt: new Date(),
    });
    return "failed";
  }
  if (job.kind === "data.export") return runExport(deps, { tenantId: job.tenantId, transferId: job.transferId }, options);
  const outcome = await runImport(deps, { tenantId: job.tenantId, transferId: job.transferId }, options);
  if (outcome === "ready" && deps.afterImport) {
    const transfer = await loadTransfer(db, job.tenantId, job.transferId, "import");
    if (transfer?.targetTenantId) await deps.afterImport(transfer.targetTenantId);
  }
  return outcome;
}
