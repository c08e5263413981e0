import { OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  getDataTransfer,
  importInput,
  listDataTransfers,
  requestExport,
  requestImport,
  type DataTransferDto,
} from "../../../../../core/data/admin";
import { presignGet } from "../../../../../core/storage/presign";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import { enqueueOr503, knowledgeJobs } from "../knowledge-bases/schemas";
import { adminRoute, jsonBody, jsonResponse, uuidParam, validationHook } from "../openapi";
import { runVerb } from "../run";

const transfer = z
  .object({
    id: z.uuid(),
    kind: z.enum(["export", "import"]),
    status: z.enum(["queued", "running", "ready", "failed"]),
    progress: z.object({
      table: z.string().optional().openapi({ description: "The table written last" }),
      rows: z.record(z.string(), z.number().int()).openapi({ description: "Rows written so far, per table" }),
    }),
    bytes: z.number().int().nullable(),
    sha256: z.string().nullable().openapi({ description: "SHA-256 of the archive" }),
    sourceExportId: z.uuid().nullable(),
    targetTenantId: z.uuid().nullable().openapi({ description: "Imports: the tenant made for the import" }),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("DataTransfer");

const exportWithDownload = transfer
  .extend({
    download: z
      .object({ url: z.url(), expiresAt: z.string() })
      .nullable()
      .openapi({ description: "A ready export's archive: a presigned link that expires (ask again for a new one)" }),
  })
  .openapi("TenantExport");

const tags = ["Data"];
const DOWNLOAD_SECONDS = 15 * 60;

const startExportRoute = adminRoute("contacts:read", {
  method: "post",
  path: "/",
  tags,
  operationId: "startExport",
  summary: "Export the whole tenant",
  description:
    "Starts an export job in the pool: every table of the tenant (settings, agents with versions, tools and integrations without " +
    "secrets, channels without credentials, conversations and messages, knowledge sources and chunks, usage, audit log) as gzipped " +
    "JSON Lines per table, with a manifest of row counts and checksums, in one tar archive. Follow it on `GET /v1/exports/{id}`. " +
    "While one is queued or running, asking again answers that one (200) instead of starting another.",
  responses: {
    202: jsonResponse(transfer, "Queued"),
    200: jsonResponse(transfer, "An export already under way"),
  },
});

const listExportsRoute = adminRoute("contacts:read", {
  method: "get",
  path: "/",
  tags,
  operationId: "listExports",
  summary: "The tenant's exports, newest first (the last 50)",
  responses: { 200: jsonResponse(z.object({ data: z.array(transfer) }).openapi("TenantExportList"), "Exports") },
});

const getExportRoute = adminRoute("contacts:read", {
  method: "get",
  path: "/{exportId}",
  tags,
  operationId: "getExport",
  summary: "An export's progress, and its download link once ready",
  request: { params: uuidParam("exportId") },
  responses: { 200: jsonResponse(exportWithDownload, "The export") },
});

function exportsConfig(c: Context<AppEnv>) {
  const config = c.get("services").config;
  if (!config.EXPORTS_BUCKET) throw new ApiError(503, "EXPORTS_UNAVAILABLE", "Tenant exports are not configured on this server.");
  // Its own S3 keys, else the edge's AWS key (ops/aws: the edge user may read export archives).
  const [accessKeyId, secretAccessKey] =
    config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? [config.S3_ACCESS_KEY_ID, config.S3_SECRET_ACCESS_KEY]
      : [config.SQS_ACCESS_KEY_ID, config.SQS_SECRET_ACCESS_KEY];
  return {
    bucket: config.EXPORTS_BUCKET,
    signing: { region: config.S3_REGION ?? config.SQS_REGION, endpoint: config.S3_API_BASE, accessKeyId, secretAccessKey },
  };
}

const startExportHandler: RouteHandler<typeof startExportRoute, AppEnv> = async (c) => {
  exportsConfig(c);
  const jobs = knowledgeJobs(c);
  const { transfer: started, created } = await runVerb(c, requestExport, {});
  // Also when one is under way: a request whose job could not be queued is queued by its repetition.
  await enqueueOr503(
    c,
    jobs,
    { kind: "data.export", tenantId: c.get("principal")!.tenantId, transferId: started.id },
    "repeat the request",
  );
  return c.json(started, created ? 202 : 200);
};

const listExportsHandler: RouteHandler<typeof listExportsRoute, AppEnv> = async (c) =>
  c.json({ data: await runVerb(c, listDataTransfers, { kind: "export" as const }) }, 200);

const getExportHandler: RouteHandler<typeof getExportRoute, AppEnv> = async (c) => {
  const row = await runVerb(c, getDataTransfer, { id: c.req.valid("param").exportId, kind: "export" as const });
  const found = toPublic(row);
  let download: { url: string; expiresAt: string } | null = null;
  if (found.status === "ready" && row.objectKey) {
    const { bucket, signing } = exportsConfig(c);
    download = await presignGet(signing, bucket, row.objectKey, {
      expiresInSeconds: DOWNLOAD_SECONDS,
      filename: `tenant-export-${found.id}.tar`,
    });
  }
  return c.json({ ...found, download }, 200);
};

/** The transfer as the API shows it: where it is stored stays internal. */
function toPublic(row: DataTransferDto & { objectKey: string | null }): DataTransferDto {
  const shown: DataTransferDto & { objectKey?: string | null } = { ...row };
  delete shown.objectKey;
  return shown;
}

/** `/v1/exports`: whole-tenant exports (needs `contacts:read`: they hold every end user's conversations). */
export const exportsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(startExportRoute, startExportHandler)
  .openapi(listExportsRoute, listExportsHandler)
  .openapi(getExportRoute, getExportHandler);

const startImportRoute = adminRoute("contacts:read", {
  method: "post",
  path: "/",
  tags,
  operationId: "startImport",
  summary: "Restore one of the tenant's exports into a new tenant",
  description:
    "Makes a new tenant named `tenantName` with the caller (a signed-in user, not an API key) as its admin, and queues the import: " +
    "every table of the export with ids remapped, in one transaction. Channels arrive paused without credentials, tools without " +
    "their sealed auth, and members and integration connections are not copied: connect and invite them again. " +
    "409 `CONFLICT` (reason `EXPORT_NOT_READY`) for an export not finished.",
  request: { body: jsonBody(importInput.openapi("StartImport")) },
  responses: { 202: jsonResponse(transfer, "The new tenant exists; its data is being imported") },
});

const getImportRoute = adminRoute("contacts:read", {
  method: "get",
  path: "/{importId}",
  tags,
  operationId: "getImport",
  summary: "An import's progress",
  request: { params: uuidParam("importId") },
  responses: { 200: jsonResponse(transfer, "The import") },
});

const listImportsRoute = adminRoute("contacts:read", {
  method: "get",
  path: "/",
  tags,
  operationId: "listImports",
  summary: "The tenant's imports, newest first (the last 50)",
  responses: { 200: jsonResponse(z.object({ data: z.array(transfer) }).openapi("TenantImportList"), "Imports") },
});

const startImportHandler: RouteHandler<typeof startImportRoute, AppEnv> = async (c) => {
  exportsConfig(c);
  const jobs = knowledgeJobs(c);
  const started: DataTransferDto = await runVerb(c, requestImport, c.req.valid("json"));
  await enqueueOr503(
    c,
    jobs,
    { kind: "data.import", tenantId: c.get("principal")!.tenantId, transferId: started.id },
    "repeat the request (it answers the same import)",
  );
  return c.json(started, 202);
};

const getImportHandler: RouteHandler<typeof getImportRoute, AppEnv> = async (c) => {
  const found = await runVerb(c, getDataTransfer, { id: c.req.valid("param").importId, kind: "import" as const });
  return c.json(toPublic(found), 200);
};

const listImportsHandler: RouteHandler<typeof listImportsRoute, AppEnv> = async (c) =>
  c.json({ data: await runVerb(c, listDataTransfers, { kind: "import" as const }) }, 200);

/** `/v1/imports`: an export restored into a new tenant. */
export const importsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(startImportRoute, startImportHandler)
  .openapi(listImportsRoute, listImportsHandler)
  .openapi(getImportRoute, getImportHandler);
