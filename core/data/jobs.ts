import type { Database } from "../../db/client";
import type { DataJob } from "../knowledge/jobs";
import { runExport, updateTransfer, type DataTransferDependencies } from "./export";
import { runImport } from "./import";

/**
 * Runs a `data.export` or `data.import` job from the jobs queue. A pool without an exports bucket
 * (`EXPORTS_BUCKET`) cannot: it marks the request failed with that reason rather than letting the
 * job retry into the dead-letter queue.
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
  const run = job.kind === "data.export" ? runExport : runImport;
  return run(deps, { tenantId: job.tenantId, transferId: job.transferId }, options);
}
