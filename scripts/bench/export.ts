/**
 * `npm run bench:export [-- --sizes 10000,100000]`
 *
 * Whole-tenant export and import at growing sizes, to show that memory stays flat: for each size a
 * tenant gets that many messages (about 200 bytes each, half inbound, half replies), then the
 * export job writes its archive to the S3 emulator and the import job restores it into a new
 * tenant, while the process's resident memory and JavaScript heap are sampled every 20 ms. Prints
 * rows per second, the archive's size, and the peak RSS and heap above the level before each job.
 * On PGlite in this process by default (its memory counts too, so the figures are an upper
 * bound), or on `DATABASE_URL`'s PostgreSQL.
 */
import { parseArgs } from "node:util";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { sql } from "drizzle-orm";
import { requestExport, requestImport } from "../../core/data/admin";
import { runExport, type DataTransferDependencies } from "../../core/data/export";
import { runImport } from "../../core/data/import";
import { createLogger } from "../../core/observability/log";
import { createS3Client } from "../../core/storage/s3";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph } from "../../db/fixtures";
import { runAsMember } from "../../test/support/as-member";
import { createTestDatabase } from "../../test/support/database";
import { startSqs } from "../stack/sqs";

const { values } = parseArgs({ options: { sizes: { type: "string", default: "10000,100000" } } });
const sizes = values.sizes
  .split(",")
  .map(Number)
  .filter((n) => n > 0);

/** Peak RSS and heap above the level when `work` started, sampled every 20 ms. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; rssMiB: number; heapMiB: number }> {
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const result = await work();
    return {
      result,
      seconds: (performance.now() - started) / 1000,
      rssMiB: (peakRss - base.rss) / 2 ** 20,
      heapMiB: (peakHeap - base.heapUsed) / 2 ** 20,
    };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  const database = await createTestDatabase();
  const sqs = await startSqs();
  const s3 = createS3Client({
    region: sqs.region,
    endpoint: sqs.endpoint,
    accessKeyId: sqs.accessKeyId,
    secretAccessKey: sqs.secretAccessKey,
  });
  await s3.send(new CreateBucketCommand({ Bucket: "bench-exports" }));
  const admin = createPoolDb(database.adminUrl, { max: 1 });
  const app = createPoolDb(database.appUrl, { max: 2 });
  const deps: DataTransferDependencies = { db: app.db, s3, bucket: "bench-exports", logger: createLogger({ bench: "export" }, "error") };
  console.log(`Database: ${database.kind}. Node ${process.version}.`);
  console.log("messages | export: rows/s, archive MiB, peak RSS +MiB, peak heap +MiB | import: rows/s, peak RSS +MiB, peak heap +MiB");
  try {
    for (const size of sizes) {
      const graph = buildTenantGraph();
      await insertTenantGraph(admin.db, graph);
      const { conversationId, channelId } = graph.rows.messages;
      await admin.db.execute(sql`
        insert into messages (tenant_id, conversation_id, channel_id, direction, status, content, provider_message_id)
        select ${graph.tenant.id}, ${conversationId}, ${channelId}, case when i % 2 = 0 then 'inbound' else 'outbound' end, 'sent',
               repeat('Where is my parcel number ' || i || '? ', 6), case when i % 2 = 0 then 'bench-' || i end
          from generate_series(1, ${size}) as i`);
      const { transfer } = await runAsMember(app.db, graph, requestExport, {});
      const exported = await measured(() => runExport(deps, { tenantId: graph.tenant.id, transferId: transfer.id }));
      const [row] = (
        await admin.db.execute<{ bytes: number; rows: number }>(
          sql`select bytes::int as bytes, (select sum(value::int) from jsonb_each_text(progress->'rows'))::int as rows from data_transfers where id = ${transfer.id}`,
        )
      ).rows;
      const imported = await runAsMember(app.db, graph, requestImport, { exportId: transfer.id, tenantName: `Bench copy ${size}` }).then(
        (started) => measured(() => runImport(deps, { tenantId: graph.tenant.id, transferId: started.id })),
      );
      const rows = row!.rows;
      console.log(
        [
          String(size).padStart(8),
          `${Math.round(rows / exported.seconds)} rows/s`,
          `${(row!.bytes / 2 ** 20).toFixed(1)} MiB`,
          `+${exported.rssMiB.toFixed(0)} MiB RSS`,
          `+${exported.heapMiB.toFixed(0)} MiB heap`,
          `| ${Math.round(rows / imported.seconds)} rows/s`,
          `+${imported.rssMiB.toFixed(0)} MiB RSS`,
          `+${imported.heapMiB.toFixed(0)} MiB heap`,
        ].join("  "),
      );
    }
  } finally {
    s3.destroy();
    await app.close();
    await admin.close();
    await sqs.stop();
    await database.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
