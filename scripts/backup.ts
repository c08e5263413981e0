/**
 * `npm run backup [-- --to <folder | s3://bucket/prefix>]`
 *
 * A consistent backup of the platform database with a manifest (checksums, every table's row
 * count, the migration level, the key ids of sealed secrets), into `backups/` by default.
 * - `DATABASE_URL` set: that PostgreSQL server, with `pg_dump` (custom format) under a snapshot.
 * - Otherwise the embedded PGlite of `npm start`: through the running stack (which owns the data
 *   directory), or straight from `.data/pglite` when the stack is stopped.
 * S3: Amazon S3 with the usual AWS credentials, or `S3_API_BASE` for an S3-compatible server; with
 * the local stack running and no `S3_API_BASE`, its S3 emulator (the bucket is made if missing).
 * Chroma is not backed up: after a restore, `npm run reindex` rebuilds it from the database.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { createBackup, type BackupSource } from "./backup/backup";
import { loadOrCreateKeys } from "./local-keys";
import { PROJECT_ROOT } from "./local-stack";
import { runningStack } from "./stack/cli";
import { controlToken } from "./stack/control";
import { s3ForCli } from "./backup/cli";

async function main() {
  const { values } = parseArgs({ options: { to: { type: "string", default: join(PROJECT_ROOT, "backups") } } });
  const source = await backupSource();
  const s3 = await s3ForCli(values.to!);
  const { location, manifest } = await createBackup(source, values.to!, {
    ...(s3 ? { s3 } : {}),
    onStep: (step) => console.log(`… ${step}`),
  });
  const file = manifest.files[0]!;
  const rows = Object.values(manifest.tables).reduce((sum, n) => sum + n, 0);
  console.log(
    `Backed up the ${manifest.database.kind} database (PostgreSQL ${manifest.database.serverVersion}, ${manifest.migrations.applied} migrations):`,
  );
  console.log(`  ${location}`);
  console.log(`  ${file.name}: ${(file.bytes / 1024 / 1024).toFixed(1)} MiB, sha256 ${file.sha256}`);
  console.log(`  ${Object.keys(manifest.tables).length} tables, ${rows} rows; tenants: ${manifest.tables.tenants ?? 0}`);
  if (manifest.keyIds.length)
    console.log(`  Sealed secrets need the keyring with key ids ${manifest.keyIds.join(", ")} (SECRETS_KEYRING; not in the backup).`);
  console.log(`Restore: npm run restore -- ${location}`);
}

async function backupSource(): Promise<BackupSource> {
  if (process.env.DATABASE_URL) return { kind: "postgres", url: process.env.DATABASE_URL };
  const stack = await runningStack();
  if (stack?.controlUrl) {
    const keys = await loadOrCreateKeys(join(PROJECT_ROOT, ".data", "keys.json"));
    const token = await controlToken(keys);
    return {
      kind: "pglite",
      dumpDataDir: async () => {
        const response = await fetch(`${stack.controlUrl}/database/dump`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
        if (!response.ok) throw new Error(`the running stack refused the dump (${response.status}): ${await response.text()}`);
        return response.blob();
      },
    };
  }
  if (stack) throw new Error("the running stack uses a PostgreSQL server: set DATABASE_URL to back it up");
  const dataDir = join(PROJECT_ROOT, ".data", "pglite");
  if (!(await stat(join(dataDir, "PG_VERSION")).catch(() => undefined))) {
    throw new Error("no database to back up: start the stack once (npm start), or set DATABASE_URL");
  }
  return {
    kind: "pglite",
    dumpDataDir: async () => {
      const db = await PGlite.create({ dataDir });
      try {
        return await db.dumpDataDir("gzip");
      } finally {
        await db.close();
      }
    },
  };
}

main().catch((error) => {
  console.error(`backup: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
