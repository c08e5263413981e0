import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_PERMISSIONS } from "../../core/access/permissions";
import { createKnowledgeBase } from "../../core/knowledge/admin";
import { reindex } from "../../core/knowledge/reindex";
import { retrieveKnowledge, runKnowledgeJob, type KnowledgeDependencies } from "../../core/knowledge/service";
import { addKnowledgeSource } from "../../core/knowledge/sources-admin";
import { KnowledgeStore } from "../../core/knowledge/store";
import { createLogger } from "../../core/observability/log";
import { createS3Client, type S3Settings } from "../../core/storage/s3";
import { createPoolDb } from "../../db/client";
import { buildTenantGraph, insertTenantGraph } from "../../db/fixtures";
import { startPgliteServer, type PgliteServer } from "../../db/local/pglite-server";
import { migrateDatabase } from "../../db/migrate";
import { withTenant } from "../../db/tenant";
import { createTestDatabase, type TestDatabase } from "../../test/support/database";
import { startChroma, type ChromaHandle } from "../stack/chroma";
import { startSqs, type SqsHandle } from "../stack/sqs";
import { createBackup, restoreBackup } from "./backup";

/**
 * Backups against the real parts: the embedded PGlite (data-directory tarball) and the machine's
 * PostgreSQL (pg_dump/pg_restore), to a folder and to S3 (the fauxqs emulator), restored into an
 * empty target and compared table by table, row for row; Chroma rebuilt from the restored
 * database answers retrieval exactly as before.
 */
let work: string;
let chroma: ChromaHandle;
let sqs: SqsHandle;
let s3: S3Settings;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "backup-int-"));
  [chroma, sqs] = await Promise.all([startChroma({ dataDir: join(work, "chroma"), output: "quiet" }), startSqs()]);
  s3 = { region: sqs.region, endpoint: sqs.endpoint, accessKeyId: sqs.accessKeyId, secretAccessKey: sqs.secretAccessKey };
  const client = createS3Client(s3);
  await client.send(new CreateBucketCommand({ Bucket: "platform-backups" }));
  client.destroy();
}, 120_000);

afterAll(async () => {
  await Promise.all([chroma?.stop(), sqs?.stop()]);
  await rm(work, { recursive: true, force: true });
});

/** Two tenants with the fixture graph, and an ingested knowledge source each (chunks in Postgres and Chroma). */
async function populate(url: string, store: KnowledgeStore) {
  const handle = createPoolDb(url, { max: 1 });
  try {
    const deps: KnowledgeDependencies = {
      db: handle.db,
      store,
      fetchUrl: () => Promise.reject(new Error("no URL sources here")),
      embeddingCredentials: async () => ({}),
      logger: createLogger({ test: "backup" }, "error"),
    };
    const tenants: Array<{ tenantId: string; knowledgeBaseId: string }> = [];
    for (const text of [
      "Parcels to Madeira ship on Mondays and arrive on Thursdays. ",
      "Refunds reach your card within five working days. ",
    ]) {
      const graph = buildTenantGraph();
      await insertTenantGraph(handle.db, graph);
      const tenantId = graph.tenant.id;
      const ctx = (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) => ({
        tenantId,
        actor: { type: "system" as const, id: "test" },
        role: { id: "r", name: "admin" },
        permissions: new Set(ALL_PERMISSIONS),
        allowedOrigins: [],
        tx,
      });
      const base = await withTenant(handle.db, tenantId, (tx) =>
        createKnowledgeBase({
          ctx: ctx(tx),
          input: {
            name: "Help",
            embeddingModel: "hashing:v1-384",
            description: "",
            chunkSize: 200,
            chunkOverlap: 20,
            topK: 3,
            scoreThreshold: 0.05,
            mmr: false,
          },
        }),
      );
      const source = await withTenant(handle.db, tenantId, (tx) =>
        addKnowledgeSource({
          ctx: ctx(tx),
          input: { knowledgeBaseId: base.id, name: "faq.txt", kind: "text", text: text.repeat(12) } as never,
        }),
      );
      expect(await runKnowledgeJob(deps, { version: 1, kind: "knowledge.ingest", tenantId, sourceId: source.id, requestedAt: "" })).toBe(
        "indexed",
      );
      tenants.push({ tenantId, knowledgeBaseId: base.id });
    }
    return { tenants, deps };
  } finally {
    await handle.close();
  }
}

/** Every table of `public` and the migration journal, each as its rows in a stable order. */
async function snapshot(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (
      await client.query<{ name: string }>(
        "select schemaname || '.' || tablename as name from pg_tables where schemaname in ('public', 'drizzle') order by 1",
      )
    ).rows.map((row) => row.name);
    const out: Record<string, unknown[]> = {};
    for (const table of tables) {
      out[table] = (await client.query<{ row: unknown }>(`select to_jsonb(t) as row from ${table} t order by to_jsonb(t)::text`)).rows.map(
        (r) => r.row,
      );
    }
    return out;
  } finally {
    await client.end();
  }
}

async function retrieval(url: string, store: KnowledgeStore, scope: { tenantId: string; knowledgeBaseId: string }, query: string) {
  const handle = createPoolDb(url, { max: 1 });
  try {
    const deps = {
      db: handle.db,
      store,
      fetchUrl: () => Promise.reject(new Error("none")),
      embeddingCredentials: async () => ({}),
      logger: createLogger({}, "error"),
    };
    const chunks = await retrieveKnowledge(deps, {
      tenantId: scope.tenantId,
      knowledgeBaseIds: [scope.knowledgeBaseId],
      sourceIds: [],
      query,
    });
    return chunks.map(({ chunkId, text, score }) => ({ chunkId, text, score: score.toFixed(6) }));
  } finally {
    await handle.close();
  }
}

async function rebuildChroma(url: string, store: KnowledgeStore, tenantIds: string[]) {
  const handle = createPoolDb(url, { max: 1 });
  try {
    return await reindex({ db: handle.db, store, embeddingCredentials: async () => ({}) }, { tenantIds });
  } finally {
    await handle.close();
  }
}

describe("embedded PGlite", () => {
  let source: PgliteServer;
  let restored: PgliteServer | undefined;
  afterAll(async () => {
    await restored?.close();
    await source?.close();
  });

  it("backs up to a folder, restores into a new data directory with every table equal row for row, and retrieval answers the same after reindex", async () => {
    source = await startPgliteServer({ dataDir: join(work, "source-pglite"), port: 0 });
    await migrateDatabase(source.url);
    const store = KnowledgeStore.connect(chroma.url);
    const { tenants } = await populate(source.url, store);
    const query = "when do parcels to Madeira arrive";
    const before = await retrieval(source.url, store, tenants[0]!, query);
    expect(before.length).toBeGreaterThan(0);
    const rowsBefore = await snapshot(source.url);
    expect(rowsBefore["public.knowledge_chunks"]!.length).toBeGreaterThan(2);

    const steps: string[] = [];
    const { location, manifest } = await createBackup({ kind: "pglite", dumpDataDir: () => source.dumpDataDir() }, join(work, "backups"), {
      onStep: (step) => steps.push(step),
    });
    expect(steps).toEqual(["dumping the database", "writing the manifest", "storing the backup"]);
    expect((await readdir(location)).sort()).toEqual(["database.tar.gz", "manifest.json"]);
    expect(manifest.database.kind).toBe("pglite");
    expect(manifest.tables.tenants).toBe(rowsBefore["public.tenants"]!.length);
    expect(manifest.tables.knowledge_chunks).toBe(rowsBefore["public.knowledge_chunks"]!.length);
    expect(manifest.migrations.applied).toBe(rowsBefore["drizzle.__drizzle_migrations"]!.length);
    // The fixture's sealed integration credentials name key id "fixture"; the key itself is never in a backup.
    expect(manifest.keyIds).toEqual(["fixture"]);
    // Written after the backup: not in it.
    const later = createPoolDb(source.url, { max: 1 });
    await insertTenantGraph(later.db, buildTenantGraph());
    await later.close();

    const target = join(work, "restored-pglite");
    await restoreBackup(location, { kind: "pglite", dataDir: target });
    restored = await startPgliteServer({ dataDir: target, port: 0 });
    expect(await snapshot(restored.url)).toEqual(rowsBefore);

    // A new, empty Chroma for the restored stack: reindex rebuilds it from the restored rows.
    for (const tenant of tenants) await store.dropKnowledgeBase(tenant);
    expect(await retrieval(restored.url, store, tenants[0]!, query)).toEqual([]);
    const outcome = await rebuildChroma(
      restored.url,
      store,
      tenants.map((t) => t.tenantId),
    );
    expect(outcome.chunks).toBe(rowsBefore["public.knowledge_chunks"]!.length);
    expect(await retrieval(restored.url, store, tenants[0]!, query)).toEqual(before);
  });

  it("refuses a damaged backup and moves a used data directory aside instead of overwriting it", async () => {
    const running = await startPgliteServer({ dataDir: join(work, "small-pglite"), port: 0 });
    await migrateDatabase(running.url);
    const { location } = await createBackup({ kind: "pglite", dumpDataDir: () => running.dumpDataDir() }, join(work, "backups-small"));
    await running.close();

    const damaged = join(work, "damaged");
    await rm(damaged, { recursive: true, force: true });
    await cp(location, damaged, { recursive: true });
    const bytes = await readFile(join(damaged, "database.tar.gz"));
    const middle = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    await writeFile(join(damaged, "database.tar.gz"), bytes);
    await expect(restoreBackup(damaged, { kind: "pglite", dataDir: join(work, "never") })).rejects.toThrow(
      "the backup is damaged: database.tar.gz does not match the manifest's checksum",
    );
    await expect(readdir(join(work, "never"))).rejects.toThrow();
    await expect(restoreBackup(location, { kind: "postgres", url: "postgres://127.0.0.1:9/none" })).rejects.toThrow(
      "this is a pglite backup; restore it to a PGlite data directory",
    );

    const { movedAside } = await restoreBackup(location, { kind: "pglite", dataDir: join(work, "small-pglite") });
    expect(movedAside).toMatch(/small-pglite\.before-restore-\d{8}T\d+Z$/);
    expect((await readdir(movedAside!)).length).toBeGreaterThan(0);
  });
});

describe("PostgreSQL", () => {
  let database: TestDatabase;
  let empty: TestDatabase;
  beforeAll(async () => {
    [database, empty] = await Promise.all([
      createTestDatabase({ engine: "postgres" }),
      createTestDatabase({ engine: "postgres", migrate: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([database?.close(), empty?.close()]);
  });

  it("dumps to S3 in pg_dump's custom format under a snapshot, and pg_restore brings an empty database to it row for row", async () => {
    const store = KnowledgeStore.connect(chroma.url);
    const { tenants } = await populate(database.adminUrl, store);
    const rowsBefore = await snapshot(database.adminUrl);
    const { location, manifest } = await createBackup({ kind: "postgres", url: database.adminUrl }, "s3://platform-backups/nightly", {
      s3,
    });
    expect(location).toMatch(/^s3:\/\/platform-backups\/nightly\/backup-\d{8}T\d{6}Z$/);
    expect(manifest.database).toMatchObject({ kind: "postgres", file: "database.dump" });
    expect(manifest.tables.knowledge_chunks).toBe(rowsBefore["public.knowledge_chunks"]!.length);
    const client = createS3Client(s3);
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: "platform-backups", Prefix: location.slice("s3://platform-backups/".length) }),
    );
    client.destroy();
    expect(listed.Contents?.map((object) => object.Key!.split("/").at(-1)).sort()).toEqual(["database.dump", "manifest.json"]);

    await restoreBackup(location, { kind: "postgres", url: empty.adminUrl }, { s3 });
    expect(await snapshot(empty.adminUrl)).toEqual(rowsBefore);
    // The application role still sees exactly its tenant's rows on the restored database.
    const app = createPoolDb(empty.appUrl, { max: 1 });
    try {
      const rows = await withTenant(app.db, tenants[1]!.tenantId, (tx) =>
        tx.execute<{ tenant_id: string }>(sql`select distinct tenant_id from knowledge_chunks`),
      );
      expect(rows.rows).toEqual([{ tenant_id: tenants[1]!.tenantId }]);
    } finally {
      await app.close();
    }
    await expect(restoreBackup(location, { kind: "postgres", url: empty.adminUrl }, { s3 })).rejects.toThrow(
      "the target database already has tables: restore into a new, empty database",
    );
  });
});
