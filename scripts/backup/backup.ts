import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { z } from "zod";
import { createS3Client, parseS3Url, type S3Settings } from "../../core/storage/s3";

/**
 * Platform backups of the database: a consistent copy, a manifest with checksums and the row count
 * of every table, to a local folder or to S3 (`s3://bucket/prefix`), and the way back.
 *
 * - Embedded PGlite: its data directory as a gzipped tarball (`dumpDataDir`, taken between two
 *   queries of the one backend, so it is crash-consistent; PostgreSQL's recovery on load makes it
 *   whole). The row counts come from loading that tarball into a throwaway in-memory PGlite, so
 *   every backup has been proven to open before it is called done.
 * - A PostgreSQL server: `pg_dump` custom format (the machine's client, matching the server's
 *   major version), taken under a snapshot exported from a REPEATABLE READ transaction in which the
 *   row counts are read too, so the counts describe exactly the dumped data.
 *
 * Secrets stay sealed: the backup holds ciphertext, never `SECRETS_KEYRING`, so keep the keyring
 * apart (a secrets manager); the manifest names its key ids to say which keyring opens it.
 * Chroma is not backed up: it is rebuilt from the database (`npm run reindex`).
 */
export const backupManifest = z.object({
  format: z.literal("agent-platform-backup"),
  version: z.literal(1),
  createdAt: z.string(),
  database: z.object({ kind: z.enum(["pglite", "postgres"]), serverVersion: z.string(), file: z.string() }),
  migrations: z.object({ applied: z.number().int(), last: z.string().nullable() }),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  /** Rows per table of the `public` schema at the moment of the backup. */
  tables: z.record(z.string(), z.number().int()),
  /** Key ids of `SECRETS_KEYRING` the sealed secrets in it were written with (never the keys). */
  keyIds: z.array(z.string()),
});
export type BackupManifest = z.infer<typeof backupManifest>;

export type BackupSource =
  /** The embedded database: how to get its data directory as a gzipped tarball. */
  { kind: "pglite"; dumpDataDir: () => Promise<Blob> } | { kind: "postgres"; url: string };

export type RestoreTarget = { kind: "pglite"; dataDir: string } | { kind: "postgres"; url: string };

const PGLITE_FILE = "database.tar.gz";
const POSTGRES_FILE = "database.dump";

/** Anything that runs a query and gives rows back (a pg client, a PGlite). */
type Queryable = { query<T>(sql: string): Promise<{ rows: T[] }> };

/** Backs the database up to `destination` (a folder, or `s3://bucket/prefix`); returns where it went. */
export async function createBackup(
  source: BackupSource,
  destination: string,
  options: { s3?: S3Settings; now?: Date; onStep?: (step: string) => void } = {},
): Promise<{ location: string; manifest: BackupManifest }> {
  const now = options.now ?? new Date();
  const name = `backup-${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}`;
  const work = await mkdtemp(join(tmpdir(), "agent-backup-"));
  try {
    options.onStep?.("dumping the database");
    const described = source.kind === "pglite" ? await dumpPglite(source, work) : await dumpPostgres(source.url, work);
    options.onStep?.("writing the manifest");
    const manifest: BackupManifest = {
      format: "agent-platform-backup",
      version: 1,
      createdAt: now.toISOString(),
      database: { kind: source.kind, serverVersion: described.serverVersion, file: described.file },
      migrations: described.migrations,
      files: [
        {
          name: described.file,
          bytes: (await stat(join(work, described.file))).size,
          sha256: await sha256File(join(work, described.file)),
        },
      ],
      tables: described.tables,
      keyIds: described.keyIds,
    };
    await writeFile(join(work, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    options.onStep?.("storing the backup");
    const location = await store(work, destination, name, options.s3);
    return { location, manifest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Brings an empty target back to a backup: checks every file against the manifest first, loads it,
 * then compares every table's row count with the manifest's. A PGlite data directory that is not
 * empty is moved aside (`<dir>.before-restore-<time>`), never deleted; a PostgreSQL database must
 * have no tables yet (create a new one; nothing is overwritten).
 */
export async function restoreBackup(
  location: string,
  target: RestoreTarget,
  options: { s3?: S3Settings; onStep?: (step: string) => void } = {},
): Promise<{ manifest: BackupManifest; movedAside?: string }> {
  const work = await mkdtemp(join(tmpdir(), "agent-restore-"));
  try {
    options.onStep?.("reading the backup");
    const manifest = await fetchBackup(location, work, options.s3);
    for (const file of manifest.files) {
      const actual = await sha256File(join(work, file.name)).catch(() => "missing");
      if (actual !== file.sha256) throw new Error(`the backup is damaged: ${file.name} does not match the manifest's checksum`);
    }
    if (manifest.database.kind !== target.kind) {
      throw new Error(
        `this is a ${manifest.database.kind} backup; restore it to ${manifest.database.kind === "pglite" ? "a PGlite data directory" : "a PostgreSQL database"}`,
      );
    }
    options.onStep?.("loading the database");
    const dump = join(work, manifest.database.file);
    let movedAside: string | undefined;
    let counts: Record<string, number>;
    if (target.kind === "pglite") {
      movedAside = await moveAsideIfUsed(target.dataDir);
      const db = await PGlite.create({ dataDir: target.dataDir, loadDataDir: new Blob([await readFile(dump)]) });
      try {
        counts = await tableCounts(db);
      } finally {
        await db.close();
      }
    } else {
      counts = await restorePostgres(target.url, dump);
    }
    options.onStep?.("checking every table");
    const differing = Object.keys({ ...manifest.tables, ...counts }).filter((table) => manifest.tables[table] !== counts[table]);
    if (differing.length) {
      throw new Error(
        `the restored database differs from the backup in ${differing.map((t) => `${t} (${counts[t] ?? "missing"} rows, backup ${manifest.tables[t] ?? "none"})`).join(", ")}`,
      );
    }
    return { manifest, ...(movedAside ? { movedAside } : {}) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Row counts of every table of the `public` schema, read from the catalogue. */
export async function tableCounts(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public' order by tablename");
  const counts: Record<string, number> = {};
  for (const { tablename } of rows) {
    const [row] = (await db.query<{ n: number }>(`select count(*)::int as n from public.${pg.escapeIdentifier(tablename)}`)).rows;
    counts[tablename] = row!.n;
  }
  return counts;
}

async function dumpPglite(source: Extract<BackupSource, { kind: "pglite" }>, work: string) {
  const blob = await source.dumpDataDir();
  await writeFile(join(work, PGLITE_FILE), Buffer.from(await blob.arrayBuffer()));
  // Proves the tarball opens, and reads what the manifest says from it (not from the live database).
  const copy = await PGlite.create({ loadDataDir: blob });
  try {
    return { file: PGLITE_FILE, ...(await describe(copy)) };
  } finally {
    await copy.close();
  }
}

async function dumpPostgres(url: string, work: string) {
  const client = new pg.Client({ connectionString: url, application_name: "agent-platform-backup" });
  await client.connect();
  try {
    await client.query("begin isolation level repeatable read read only");
    const [{ snapshot }] = (await client.query<{ snapshot: string }>("select pg_export_snapshot() as snapshot")).rows as [
      { snapshot: string },
    ];
    await run("pg_dump", ["--format=custom", `--snapshot=${snapshot}`, `--file=${join(work, POSTGRES_FILE)}`, `--dbname=${url}`]);
    const described = await describe(client);
    await client.query("commit");
    return { file: POSTGRES_FILE, ...described };
  } finally {
    await client.end();
  }
}

async function describe(db: Queryable) {
  const [version] = (await db.query<{ server_version: string }>("show server_version")).rows;
  const migrations = await db
    .query<{ applied: number; last: string | null }>(
      "select count(*)::int as applied, (array_agg(hash order by created_at desc))[1] as last from drizzle.__drizzle_migrations",
    )
    .then((result) => result.rows[0]!)
    .catch(() => ({ applied: 0, last: null }));
  const keyIds = await db
    .query<{ key_id: string }>(
      // Sealed envelopes are `v1.<key id>.<iv>.<ciphertext>` (core/crypto/secrets.ts).
      `select distinct split_part(sealed, '.', 2) as key_id from (
         select credentials as sealed from channels
         union all select auth_config from tools
         union all select credentials from integration_connections
         union all select (regexp_matches(settings::text, '"(v1\\.[A-Za-z0-9_-]+\\.)', 'g'))[1] from tenants) s
       where sealed like 'v1.%' order by 1`,
    )
    .then((result) => result.rows.map((row) => row.key_id))
    .catch(() => []);
  return { serverVersion: version!.server_version, migrations, tables: await tableCounts(db), keyIds };
}

async function restorePostgres(url: string, dump: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url, application_name: "agent-platform-restore" });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "select count(*)::int as n from pg_tables where schemaname in ('public', 'drizzle')",
    );
    if (rows[0]!.n > 0) throw new Error("the target database already has tables: restore into a new, empty database");
    // Roles are cluster-wide, not in a database dump: the grants in it need the application role.
    await client.query(`do $$ begin
      if not exists (select 1 from pg_catalog.pg_roles where rolname = 'agent_app') then
        create role agent_app login nosuperuser nocreatedb nocreaterole nobypassrls;
      end if; end $$`);
    await run("pg_restore", ["--exit-on-error", "--single-transaction", "--no-owner", `--dbname=${url}`, dump]);
    return await tableCounts(client);
  } finally {
    await client.end();
  }
}

async function store(work: string, destination: string, name: string, s3Settings?: S3Settings): Promise<string> {
  const files = await readdir(work);
  const s3Url = parseS3Url(destination);
  if (destination.startsWith("s3://") && !s3Url) throw new Error(`not an S3 location: ${destination} (s3://bucket/prefix)`);
  if (s3Url) {
    const s3 = createS3Client(s3Settings ?? { region: "us-east-1" });
    const prefix = [s3Url.prefix, name].filter(Boolean).join("/");
    try {
      // The manifest last: a backup without its manifest is visibly unfinished.
      for (const file of [...files.filter((f) => f !== "manifest.json"), "manifest.json"]) {
        await new Upload({
          client: s3,
          params: { Bucket: s3Url.bucket, Key: `${prefix}/${file}`, Body: createReadStream(join(work, file)) },
        }).done();
      }
    } finally {
      s3.destroy();
    }
    return `s3://${s3Url.bucket}/${prefix}`;
  }
  const folder = join(resolve(destination), name);
  await mkdir(folder, { recursive: true });
  for (const file of files) await copyFile(join(work, file), join(folder, file));
  return folder;
}

async function fetchBackup(location: string, work: string, s3Settings?: S3Settings): Promise<BackupManifest> {
  const s3Url = parseS3Url(location);
  if (!s3Url) {
    const folder = resolve(location);
    const manifest = await readManifest(join(folder, "manifest.json"));
    for (const file of manifest.files) await copyFile(join(folder, basename(file.name)), join(work, basename(file.name))).catch(() => {});
    return manifest;
  }
  const s3 = createS3Client(s3Settings ?? { region: "us-east-1" });
  try {
    const download = async (name: string) => {
      const object = await s3.send(new GetObjectCommand({ Bucket: s3Url.bucket, Key: `${s3Url.prefix}/${name}` }));
      await pipeline(object.Body as Readable, createWriteStream(join(work, name)));
    };
    await download("manifest.json").catch((error: unknown) => {
      throw new Error(`no backup at ${location} (its manifest.json could not be read)`, { cause: error });
    });
    const manifest = await readManifest(join(work, "manifest.json"));
    for (const file of manifest.files) await download(basename(file.name)).catch(() => {});
    return manifest;
  } finally {
    s3.destroy();
  }
}

async function readManifest(file: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new Error(`no backup manifest at ${file}`);
  }
  const parsed = backupManifest.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a backup manifest of this platform`);
  return parsed.data;
}

async function moveAsideIfUsed(dataDir: string): Promise<string | undefined> {
  const entries = await readdir(dataDir).catch(() => []);
  if (entries.length === 0) return undefined;
  const aside = `${dataDir}.before-restore-${new Date().toISOString().replace(/[-:.]/g, "")}`;
  await rename(dataDir, aside);
  return aside;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Runs a PostgreSQL client tool; its stderr is the error when it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => reject(new Error(`${command} could not start (install the PostgreSQL client tools): ${error.message}`)));
    child.on("exit", (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`${command} failed (exit ${code}): ${stderr.trim().split("\n").slice(-3).join(" ")}`)),
    );
  });
}
