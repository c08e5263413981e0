import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { text as streamText } from "node:stream/consumers";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { and, eq, sql } from "drizzle-orm";
import { extract as tarExtract } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import { dataTransfers, messages, tenants, tenantOwnedTableNames } from "../../db/schema";
import { startSqs, type SqsHandle } from "../../scripts/stack/sqs";
import { runAsMember, useTestDatabase } from "../../test/support/verbs";
import { ALL_PERMISSIONS } from "../access/permissions";
import { createLogger } from "../observability/log";
import { createS3Client, deletePrefix } from "../storage/s3";
import { purgeDueTenants } from "../tenants/deletion";
import { getDataTransfer, requestExport, requestImport } from "./admin";
import { EXPORT_TABLES, NOT_EXPORTED, NOT_IMPORTED, remapId, remapRow } from "./archive";
import { runExport, type DataTransferDependencies } from "./export";
import { runImport } from "./import";
import { withTenant } from "../../db/tenant";

/**
 * Tenant export and import against the real database and S3 (the fauxqs emulator): every table in
 * the archive with its counts and checksums, no secret in it, and a round trip (export, import into
 * a new tenant, export again) that gives the same content with the ids remapped.
 */
const db = useTestDatabase();
let sqs: SqsHandle;
let s3: S3Client;
let deps: DataTransferDependencies;
const BUCKET = "tenant-exports";

beforeAll(async () => {
  sqs = await startSqs();
  s3 = createS3Client({ region: sqs.region, endpoint: sqs.endpoint, accessKeyId: sqs.accessKeyId, secretAccessKey: sqs.secretAccessKey });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  deps = { db: db.app, s3, bucket: BUCKET, logger: createLogger({ test: "data" }, "error") };
});

afterAll(async () => {
  s3?.destroy();
  await sqs?.stop();
});

/** A tenant with one row in every table, a second conversation turn (a reply to an inbound message), and sealed secrets. */
async function makeTenant(): Promise<TenantGraph> {
  const graph = buildTenantGraph();
  graph.rows.channels.credentials = "v1.k1.c2VhbGVk.c2VjcmV0LWJvdC10b2tlbg";
  graph.rows.tools.authConfig = "v1.k1.aXY.dG9vbC1zZWNyZXQ";
  graph.rows.api_keys.secretHash = `api-key-hash-${graph.tenant.id}`;
  graph.rows.sign_in_links.tokenHash = `sign-in-hash-${graph.tenant.id}`;
  await insertTenantGraph(db.admin, graph);
  await db.admin
    .update(tenants)
    .set({ settings: { locale: "pt-PT", providerKeys: { openai: { sealed: "v1.k1.aXY.b3BlbmFpLWtleQ", last4: "abcd" } } } })
    .where(eq(tenants.id, graph.tenant.id));
  const inbound = graph.rows.messages;
  await db.admin.insert(messages).values({
    tenantId: graph.tenant.id,
    conversationId: inbound.conversationId,
    channelId: inbound.channelId,
    direction: "outbound",
    status: "sent",
    content: "Your parcel left Lisbon this morning.",
    replyToMessageId: inbound.id!,
  });
  return graph;
}

/** The archive's files: the manifest and each table's rows. */
async function readArchive(
  key: string,
): Promise<{ manifest: Record<string, unknown>; tables: Record<string, Array<Record<string, unknown>>>; raw: string }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const files = new Map<string, string>();
  const extract = tarExtract();
  extract.on("entry", (header, stream, next) => {
    const text = header.name.endsWith(".gz") ? streamText(stream.pipe(createGunzip())) : streamText(stream);
    text.then((value) => {
      files.set(header.name, value);
      next();
    }, next);
  });
  await new Promise<void>((resolve, reject) => {
    (object.Body as Readable).pipe(extract).on("finish", resolve).on("error", reject);
  });
  const tables: Record<string, Array<Record<string, unknown>>> = {};
  for (const [name, text] of files) {
    if (name === "manifest.json") continue;
    tables[name.replace(/\.jsonl\.gz$/, "")] = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  return { manifest: JSON.parse(files.get("manifest.json")!) as Record<string, unknown>, tables, raw: [...files.values()].join("\n") };
}

async function exportTenant(graph: TenantGraph) {
  const { transfer } = await runAsMember(db.app, graph, requestExport, {});
  expect(await runExport(deps, { tenantId: graph.tenant.id, transferId: transfer.id })).toBe("ready");
  const done = await runAsMember(db.app, graph, getDataTransfer, { id: transfer.id, kind: "export" });
  return { done, archive: await readArchive(done.objectKey!) };
}

describe("tenant export", () => {
  it("writes every table but the secret ones as JSON Lines with counts and checksums, and no secret anywhere", async () => {
    const graph = await makeTenant();
    const first = await runAsMember(db.app, graph, requestExport, {});
    expect(first.created).toBe(true);
    // Asked again while it waits: the same export, not a second one.
    const again = await runAsMember(db.app, graph, requestExport, {});
    expect(again).toMatchObject({ created: false, transfer: { id: first.transfer.id, status: "queued" } });

    expect(await runExport(deps, { tenantId: graph.tenant.id, transferId: first.transfer.id })).toBe("ready");
    const done = await runAsMember(db.app, graph, getDataTransfer, { id: first.transfer.id, kind: "export" });
    expect(done).toMatchObject({ status: "ready", error: null, objectKey: `exports/${graph.tenant.id}/${first.transfer.id}.tar` });
    expect(done.bytes).toBeGreaterThan(0);
    expect(done.sha256).toMatch(/^[0-9a-f]{64}$/);
    // A redelivered job does nothing more.
    expect(await runExport(deps, { tenantId: graph.tenant.id, transferId: first.transfer.id })).toBe("ready");

    const { manifest, tables, raw } = await readArchive(done.objectKey!);
    expect(Object.keys(tables).sort()).toEqual([...EXPORT_TABLES].sort());
    // The tenant-owned tables (the schema's list, checked against the catalogue in db/rls.int.test.ts) less the ones left out.
    expect(Object.keys(tables).length + Object.keys(NOT_EXPORTED).length).toBe(tenantOwnedTableNames.length);
    const { rows } = await withTenant(db.app, graph.tenant.id, (tx) =>
      tx.execute<{ n: number }>(sql`select count(*)::int as n from messages`),
    );
    expect(tables.messages).toHaveLength(rows[0]!.n);
    expect(tables.messages).toHaveLength(2);
    for (const entry of manifest.tables as Array<{ name: string; rows: number }>)
      expect(tables[entry.name], entry.name).toHaveLength(entry.rows);
    expect(done.progress.rows).toEqual(Object.fromEntries(Object.entries(tables).map(([name, list]) => [name, list.length])));
    expect(tables.channels![0]!.credentials).toBeNull();
    expect(tables.tools![0]!.auth_config).toBeNull();
    expect(tables.integration_connections![0]!.credentials).toBeNull();
    expect((manifest.tenant as { settings: { locale: string } }).settings.locale).toBe("pt-PT");
    expect(raw).not.toMatch(/v1\.(k1|fixture)\./);
    expect(raw).not.toContain(graph.rows.api_keys.secretHash);
    expect(raw).not.toContain(graph.rows.sign_in_links.tokenHash);
  });

  it("answers another tenant's export id with 404", async () => {
    const [owner, other] = [await makeTenant(), await makeTenant()];
    const { transfer } = await runAsMember(db.app, owner, requestExport, {});
    await expect(runAsMember(db.app, other, getDataTransfer, { id: transfer.id, kind: "export" })).rejects.toMatchObject({ status: 404 });
    await expect(runAsMember(db.app, other, requestImport, { exportId: transfer.id, tenantName: "Stolen" })).rejects.toMatchObject({
      status: 404,
    });
    await expect(
      runAsMember(
        db.app,
        owner,
        requestExport,
        {},
        ALL_PERMISSIONS.filter((p) => p !== "contacts:read"),
      ),
    ).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe("tenant import", () => {
  it("restores an export into a new tenant with ids remapped; exporting that tenant gives the same content", async () => {
    const graph = await makeTenant();
    const first = await exportTenant(graph);
    // Not finished yet: refused. Then a user imports the finished one; API keys cannot.
    const queued = await runAsMember(db.app, graph, requestExport, {});
    await expect(runAsMember(db.app, graph, requestImport, { exportId: queued.transfer.id, tenantName: "Copy" })).rejects.toMatchObject({
      code: "EXPORT_NOT_READY",
      status: 409,
    });
    await db.admin.update(dataTransfers).set({ status: "failed" }).where(eq(dataTransfers.id, queued.transfer.id));
    const asKey = withTenant(db.app, graph.tenant.id, (tx) =>
      requestImport({
        ctx: {
          tenantId: graph.tenant.id,
          actor: { type: "api_key", id: "k" },
          role: { id: "r", name: "admin" },
          permissions: new Set(ALL_PERMISSIONS),
          allowedOrigins: [],
          tx,
        },
        input: { exportId: first.done.id, tenantName: "Copy" },
      }),
    );
    await expect(asKey).rejects.toMatchObject({ code: "USER_REQUIRED", status: 400 });

    const imported = await runAsMember(db.app, graph, requestImport, { exportId: first.done.id, tenantName: "Acme copy" });
    expect(imported).toMatchObject({ kind: "import", status: "queued", sourceExportId: first.done.id });
    const newTenantId = imported.targetTenantId!;
    expect(await runImport(deps, { tenantId: graph.tenant.id, transferId: imported.id })).toBe("ready");
    expect(await runImport(deps, { tenantId: graph.tenant.id, transferId: imported.id })).toBe("ready");
    const status = await runAsMember(db.app, graph, getDataTransfer, { id: imported.id, kind: "import" });
    expect(status.status).toBe("ready");
    expect(status.progress.rows.messages).toBe(2);

    // The importer is the new tenant's admin; its settings came across without the sealed model keys.
    const [tenant] = await db.admin.select().from(tenants).where(eq(tenants.id, newTenantId));
    expect(tenant).toMatchObject({ name: "Acme copy", slug: "acme-copy" });
    expect((tenant!.settings as { locale?: string }).locale).toBe("pt-PT");
    expect(JSON.stringify(tenant!.settings)).not.toContain("v1.k1");
    const newGraph = { ...graph, tenant: { ...graph.tenant, id: newTenantId } } as TenantGraph;
    const second = await exportTenant(newGraph);

    const knownIds = new Set(
      Object.values(first.archive.tables).flatMap((rows) => rows.map((row) => String(row.id ?? "")).filter(Boolean)),
    );
    const ids = { oldTenantId: graph.tenant.id, newTenantId, knownIds };
    const key = (row: Record<string, unknown>) => JSON.stringify(row);
    for (const table of EXPORT_TABLES) {
      if (NOT_IMPORTED.has(table)) continue;
      let expected = first.archive.tables[table]!.map((row) => remapRow(row, ids));
      if (table === "channels") expected = expected.map((row) => ({ ...row, status: "paused" }));
      let actual = second.archive.tables[table]!;
      if (table === "roles") {
        expected = expected.filter((row) => row.builtin !== true);
        actual = actual.filter((row) => row.builtin !== true);
      }
      if (table === "audit_log")
        actual = actual.filter(
          (row) => !["tenant.sign_up", "tenant.export"].includes(String(row.action)) || expected.some((e) => e.id === row.id),
        );
      expect(actual.map(key).sort(), table).toEqual(expected.map(key).sort());
    }
    // References followed the rows: the reply still answers the inbound message, under its new id.
    const [reply] = await withTenant(db.app, newTenantId, (tx) =>
      tx
        .select()
        .from(messages)
        .where(and(eq(messages.tenantId, newTenantId), eq(messages.direction, "outbound"))),
    );
    expect(reply!.replyToMessageId).toBe(remapId(graph.rows.messages.id!, newTenantId));
  });
});

describe("purging a deleted tenant", () => {
  it("deletes its export archives from S3 with its rows, and no other tenant's", async () => {
    const [doomed, kept] = [await makeTenant(), await makeTenant()];
    const doomedExport = (await exportTenant(doomed)).done;
    const keptExport = (await exportTenant(kept)).done;
    await db.admin
      .update(tenants)
      .set({ deletionRequestedAt: new Date(Date.now() - 86_400_000), purgeAfter: new Date(Date.now() - 1000) })
      .where(eq(tenants.id, doomed.tenant.id));
    const objects = { deletePrefix: (prefix: string) => deletePrefix(s3, BUCKET, prefix) };
    expect(await purgeDueTenants({ db: db.app, objects }, new Date())).toContain(doomed.tenant.id);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: doomedExport.objectKey! }))).rejects.toMatchObject({
      name: "NotFound",
    });
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keptExport.objectKey! }))).ContentLength).toBe(keptExport.bytes);
  });
});
