import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { eq, sql } from "drizzle-orm";
import { extract as tarExtract } from "tar-stream";
import { tenants, type DataTransferProgress } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { exportManifest, NOT_IMPORTED, remapRow, type ExportManifest } from "./archive";
import { loadTransfer, updateTransfer, type DataTransferDependencies } from "./export";

/** Rows per INSERT … jsonb_populate_recordset. */
const BATCH = 500;

/**
 * Restores one of the tenant's exports into the new tenant made for it (`target_tenant_id`): the
 * archive is downloaded and checked against its manifest (every table's row count and SHA-256),
 * then every table is inserted in the archive's foreign-key order with ids remapped
 * ({@link remapRow}), in ONE transaction of the new tenant: the import lands whole or not at all,
 * and a retried job finds it done. Channels arrive paused and without credentials (connect them
 * again), tools without their sealed auth; members, built-in roles (the new tenant has its own) and
 * integration connections are not imported.
 *
 * Memory: a batch of rows plus the set of the archive's row ids (about 100 bytes per row), which the
 * rewrite of references needs.
 */
export async function runImport(
  deps: DataTransferDependencies,
  job: { tenantId: string; transferId: string },
  options: { lastAttempt?: boolean } = {},
): Promise<"ready" | "gone" | "failed"> {
  const transfer = await loadTransfer(deps.db, job.tenantId, job.transferId, "import");
  if (!transfer) return "gone";
  if (transfer.status === "ready") return "ready";
  const source = transfer.sourceExportId ? await loadTransfer(deps.db, job.tenantId, transfer.sourceExportId, "export") : undefined;
  const targetTenantId = transfer.targetTenantId;
  const fail = async (error: string) => {
    await updateTransfer(deps.db, job.tenantId, job.transferId, { status: "failed", error, finishedAt: new Date() });
    return "failed" as const;
  };
  if (!source?.objectKey || source.status !== "ready" || !targetTenantId) return fail("the export to import is gone or not finished");
  const work = await mkdtemp(join(deps.workDir ?? tmpdir(), "tenant-import-"));
  try {
    await updateTransfer(deps.db, job.tenantId, job.transferId, { status: "running", error: null });
    const archive = await downloadArchive(deps, source.objectKey, work);
    if (!archive) return fail("the archive is damaged: it does not match its manifest");
    const { manifest, knownIds } = archive;
    const ids = { oldTenantId: manifest.tenant.id.toLowerCase(), newTenantId: targetTenantId, knownIds };
    const progress: DataTransferProgress = { rows: {} };
    await withTenant(deps.db, targetTenantId, async (tx) => {
      // The tenant's own model keys were sealed: they are not in the archive (set them again).
      const settings = { ...manifest.tenant.settings };
      delete settings.providerKeys;
      await tx
        .update(tenants)
        .set({ settings: settings as never, updatedAt: new Date() })
        .where(eq(tenants.id, targetTenantId));
      for (const table of manifest.tables) {
        if (NOT_IMPORTED.has(table.name)) continue;
        let batch: Array<Record<string, unknown>> = [];
        const flush = async () => {
          if (batch.length === 0) return;
          await tx.execute(
            sql`insert into ${sql.identifier(table.name)} select * from jsonb_populate_recordset(null::${sql.identifier(table.name)}, ${JSON.stringify(batch)}::jsonb)`,
          );
          batch = [];
        };
        let rows = 0;
        for await (const row of readRows(join(work, table.file))) {
          // The new tenant has its built-in roles already (made with it); custom roles come across.
          if (table.name === "roles" && row.builtin === true) continue;
          const remapped = remapRow(row, ids);
          // Without their credentials, channels wait paused until they are connected again.
          if (table.name === "channels") remapped.status = "paused";
          batch.push(remapped);
          rows += 1;
          if (batch.length >= BATCH) await flush();
        }
        await flush();
        progress.rows[table.name] = rows;
      }
    });
    await updateTransfer(deps.db, job.tenantId, job.transferId, { status: "ready", progress, finishedAt: new Date() });
    deps.logger.log("info", "data.import_ready", { tenantId: job.tenantId, importId: job.transferId, targetTenantId });
    return "ready";
  } catch (error) {
    if (options.lastAttempt) await fail("the import kept failing; the new tenant was left empty");
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Unpacks the archive into `work` and checks each table file against the manifest, collecting the id
 * of every row on the same read (the references an import rewrites); undefined when it does not match.
 */
async function downloadArchive(
  deps: DataTransferDependencies,
  key: string,
  work: string,
): Promise<{ manifest: ExportManifest; knownIds: Set<string> } | undefined> {
  const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
  const extract = tarExtract();
  extract.on("entry", (header, stream, next) => {
    const name = basename(header.name);
    if (!/^[a-z_]+\.jsonl\.gz$|^manifest\.json$/.test(name)) {
      stream.resume();
      stream.on("end", next);
      return;
    }
    pipeline(stream, createWriteStream(join(work, name))).then(() => next(), next);
  });
  await pipeline(object.Body as Readable, extract);
  const parsed = exportManifest.safeParse(JSON.parse(await readFile(join(work, "manifest.json"), "utf8").catch(() => "null")));
  if (!parsed.success) return undefined;
  const knownIds = new Set<string>();
  for (const table of parsed.data.tables) {
    const hash = createHash("sha256");
    let rows = 0;
    try {
      for await (const line of readLines(join(work, table.file))) {
        hash.update(`${line}\n`);
        rows += 1;
        const { id } = JSON.parse(line) as { id?: unknown };
        if (typeof id === "string") knownIds.add(id.toLowerCase());
      }
    } catch {
      return undefined;
    }
    if (rows !== table.rows || hash.digest("hex") !== table.sha256) return undefined;
  }
  return { manifest: parsed.data, knownIds };
}

function readLines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
}

async function* readRows(file: string): AsyncGenerator<Record<string, unknown>> {
  for await (const line of readLines(file)) if (line) yield JSON.parse(line) as Record<string, unknown>;
}
