import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { and, eq, sql } from "drizzle-orm";
import { pack as tarPack } from "tar-stream";
import type { Database } from "../../db/client";
import { dataTransfers, tenants, type DataTransfer, type DataTransferProgress } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import type { Logger } from "../observability/log";
import { EXPORT_TABLES, NOT_EXPORTED, SECRET_COLUMNS, scrubRow, scrubSealed, type ExportManifest, type ExportTable } from "./archive";

export interface DataTransferDependencies {
  db: Database;
  s3: S3Client;
  /** The bucket exports are written to (`EXPORTS_BUCKET`). */
  bucket: string;
  logger: Logger;
  /** Where table files are staged before the archive is streamed to S3; default the OS's. */
  workDir?: string;
  /** After an import: fill the new tenant's vector collections (the pool: core/knowledge/reindex.ts). */
  afterImport?: (targetTenantId: string) => Promise<void>;
}

/** Rows fetched from the cursor at a time: what bounds the exporter's memory. */
const FETCH = 1000;

/** `exports/<tenant>/<export id>.tar`: a tenant's objects share a prefix, so a purge removes them together. */
export function exportObjectKey(tenantId: string, exportId: string): string {
  return `exports/${tenantId}/${exportId}.tar`;
}

/**
 * Runs one export: every table of {@link EXPORT_TABLES} read through a cursor in the tenant's own
 * transaction (row-level security applies), scrubbed of secrets, written as gzipped JSON Lines to
 * a staging folder with its row count and SHA-256, then the tar of them streamed to S3 with a
 * multipart upload. Memory stays flat: a page of rows and the upload's parts, whatever the size.
 * A redelivered job of a finished export does nothing; one that throws is retried by the queue,
 * and its last allowed attempt marks the export failed.
 */
export async function runExport(
  deps: DataTransferDependencies,
  job: { tenantId: string; transferId: string },
  options: { lastAttempt?: boolean } = {},
): Promise<"ready" | "gone"> {
  const transfer = await loadTransfer(deps.db, job.tenantId, job.transferId, "export");
  if (!transfer) return "gone";
  if (transfer.status === "ready") return "ready";
  const work = await mkdtemp(join(deps.workDir ?? tmpdir(), "tenant-export-"));
  const logger = deps.logger.child({ tenantId: job.tenantId, exportId: job.transferId });
  try {
    await updateTransfer(deps.db, job.tenantId, job.transferId, { status: "running", error: null, progress: { rows: {} } });
    const [tenant] = await withTenant(deps.db, job.tenantId, (tx) => tx.select().from(tenants).where(eq(tenants.id, job.tenantId)));
    if (!tenant) return "gone";
    const progress: DataTransferProgress = { rows: {} };
    const tables: ExportManifest["tables"] = [];
    for (const table of EXPORT_TABLES) {
      const file = `${table}.jsonl.gz`;
      const written = await writeTable(deps.db, job.tenantId, table, join(work, file));
      tables.push({ name: table, file, ...written });
      progress.rows[table] = written.rows;
      await updateTransfer(deps.db, job.tenantId, job.transferId, { progress: { table, rows: { ...progress.rows } } });
    }
    const manifest: ExportManifest = {
      format: "agent-platform-tenant-export",
      version: 1,
      exportedAt: new Date().toISOString(),
      tenant: {
        id: tenant.id,
        name: tenant.name,
        slug: tenant.slug,
        settings: scrubSealed(tenant.settings ?? {}) as Record<string, unknown>,
      },
      tables,
      excluded: { tables: NOT_EXPORTED, columns: SECRET_COLUMNS as Record<string, string[]> },
    };
    const key = exportObjectKey(job.tenantId, job.transferId);
    const stored = await uploadArchive(deps, key, work, manifest);
    await updateTransfer(deps.db, job.tenantId, job.transferId, {
      status: "ready",
      objectKey: key,
      bytes: stored.bytes,
      sha256: stored.sha256,
      progress,
      finishedAt: new Date(),
    });
    logger.log("info", "data.export_ready", { bytes: stored.bytes, rows: Object.values(progress.rows).reduce((a, b) => a + b, 0) });
    return "ready";
  } catch (error) {
    if (options.lastAttempt) {
      await updateTransfer(deps.db, job.tenantId, job.transferId, {
        status: "failed",
        error: "the export kept failing for a temporary reason; start another",
        finishedAt: new Date(),
      });
    }
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function writeTable(db: Database, tenantId: string, table: ExportTable, file: string): Promise<{ rows: number; sha256: string }> {
  const hash = createHash("sha256");
  const gzip = createGzip();
  const done = pipeline(gzip, createWriteStream(file));
  let rows = 0;
  await withTenant(db, tenantId, async (tx) => {
    // `created_at` order where the table has it: a message comes after the one it replies to.
    const { rows: found } = await tx.execute<{ ordered: boolean }>(
      sql`select exists (select 1 from information_schema.columns where table_schema = 'public' and table_name = ${table} and column_name = 'created_at') as ordered`,
    );
    const ordered = found[0]?.ordered === true;
    await tx.execute(
      sql`declare export_rows no scroll cursor for select to_jsonb(t) as row from ${sql.identifier(table)} t where t.tenant_id = ${tenantId} ${ordered ? sql`order by t.created_at` : sql``}`,
    );
    for (;;) {
      const { rows: page } = await tx.execute<{ row: Record<string, unknown> }>(sql.raw(`fetch ${FETCH} from export_rows`));
      if (page.length === 0) break;
      let chunk = "";
      for (const { row } of page) chunk += `${JSON.stringify(scrubRow(table, row))}\n`;
      hash.update(chunk);
      rows += page.length;
      if (!gzip.write(chunk)) await new Promise((resolve) => gzip.once("drain", resolve));
    }
    await tx.execute(sql`close export_rows`);
  });
  gzip.end();
  await done;
  return { rows, sha256: hash.digest("hex") };
}

/** The tar (manifest first, then each table file) streamed into a multipart upload, hashed on the way. */
async function uploadArchive(
  deps: DataTransferDependencies,
  key: string,
  work: string,
  manifest: ExportManifest,
): Promise<{ bytes: number; sha256: string }> {
  const tar = tarPack();
  const body = new PassThrough();
  const hash = createHash("sha256");
  let bytes = 0;
  body.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  const upload = new Upload({
    client: deps.s3,
    params: { Bucket: deps.bucket, Key: key, Body: body, ContentType: "application/x-tar" },
    queueSize: 2,
  });
  const uploaded = upload.done();
  const piped = pipeline(tar, body);
  try {
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    tar.entry({ name: "manifest.json", size: manifestBytes.length }, manifestBytes);
    for (const table of manifest.tables) {
      const path = join(work, table.file);
      const size = (await stat(path)).size;
      await new Promise<void>((resolve, reject) => {
        const entry = tar.entry({ name: table.file, size }, (error) => (error ? reject(error) : resolve()));
        createReadStream(path).on("error", reject).pipe(entry);
      });
    }
    tar.finalize();
    await piped;
    await uploaded;
  } catch (error) {
    tar.destroy();
    await upload.abort().catch(() => {});
    throw error;
  }
  return { bytes, sha256: hash.digest("hex") };
}

export async function loadTransfer(
  db: Database,
  tenantId: string,
  transferId: string,
  kind: DataTransfer["kind"],
): Promise<DataTransfer | undefined> {
  const [row] = await withTenant(db, tenantId, (tx) =>
    tx
      .select()
      .from(dataTransfers)
      .where(and(eq(dataTransfers.tenantId, tenantId), eq(dataTransfers.id, transferId), eq(dataTransfers.kind, kind))),
  );
  return row;
}

export async function updateTransfer(db: Database, tenantId: string, transferId: string, changes: Partial<DataTransfer>): Promise<void> {
  await withTenant(db, tenantId, (tx) =>
    tx
      .update(dataTransfers)
      .set({ ...changes, updatedAt: new Date() })
      .where(and(eq(dataTransfers.tenantId, tenantId), eq(dataTransfers.id, transferId))),
  );
}
