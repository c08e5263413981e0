/**
 * `npm run restore -- <backup folder | s3://bucket/prefix/backup-…> [--data-dir DIR]`
 *
 * Brings an empty database back to a backup made by `npm run backup`, after checking every file
 * against the manifest, and compares every table's row count with it afterwards.
 * - A PGlite backup: into `.data/pglite` (or `--data-dir`) with the local stack stopped; a data
 *   directory already there is moved aside (`.data/pglite.before-restore-<time>`), never deleted.
 * - A PostgreSQL backup: into `DATABASE_URL`, which must be a new, empty database.
 * Then start the stack and run `npm run reindex` to rebuild Chroma from the restored database.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { restoreBackup, type RestoreTarget } from "./backup/backup";
import { s3ForCli } from "./backup/cli";
import { PROJECT_ROOT } from "./local-stack";
import { runningStack } from "./stack/cli";

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { "data-dir": { type: "string", default: join(PROJECT_ROOT, ".data", "pglite") } },
  });
  const [location] = positionals;
  if (!location) {
    console.log("Usage: npm run restore -- <backup folder | s3://bucket/prefix/backup-…> [--data-dir DIR]");
    process.exitCode = 2;
    return;
  }
  let target: RestoreTarget;
  if (process.env.DATABASE_URL) {
    target = { kind: "postgres", url: process.env.DATABASE_URL };
  } else {
    if (await runningStack()) throw new Error("the local stack is running: stop `npm start` first (its PGlite owns the data directory)");
    target = { kind: "pglite", dataDir: resolve(values["data-dir"]!) };
  }
  const s3 = await s3ForCli(location);
  const { manifest, movedAside } = await restoreBackup(location, target, {
    ...(s3 ? { s3 } : {}),
    onStep: (step) => console.log(`… ${step}`),
  });
  const rows = Object.values(manifest.tables).reduce((sum, n) => sum + n, 0);
  console.log(
    `Restored the backup of ${manifest.createdAt}: ${Object.keys(manifest.tables).length} tables, ${rows} rows, every count as in the manifest.`,
  );
  if (movedAside) console.log(`  The data directory that was there is kept at ${movedAside}.`);
  if (manifest.keyIds.length) console.log(`  Sealed secrets open with the keyring holding key ids ${manifest.keyIds.join(", ")}.`);
  console.log("Next: start the stack (npm start), then rebuild Chroma from the database: npm run reindex");
}

main().catch((error) => {
  console.error(`restore: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
