import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { id, tenantId, timestamps } from "./columns";

export type DataTransferKind = "export" | "import";
export type DataTransferStatus = "queued" | "running" | "ready" | "failed";

/** Rows written so far per table, and the table being written. */
export interface DataTransferProgress {
  table?: string;
  rows: Record<string, number>;
}

/**
 * A whole-tenant export (every table as JSON Lines in one archive in S3) or an import of such an
 * archive into a new tenant, run by the pool (core/data). The row belongs to the tenant that asked:
 * for an import, the archive is one of its exports and `target_tenant_id` is the tenant made for it.
 */
export const dataTransfers = pgTable(
  "data_transfers",
  {
    id: id(),
    tenantId: tenantId(),
    kind: text("kind").$type<DataTransferKind>().notNull(),
    status: text("status").$type<DataTransferStatus>().notNull().default("queued"),
    /** `user:<id>` or `api_key:<id>`. */
    requestedBy: text("requested_by").notNull(),
    progress: jsonb("progress").$type<DataTransferProgress>().notNull().default({ rows: {} }),
    /** Imports: the export they read, and the tenant they fill. */
    sourceExportId: uuid("source_export_id"),
    targetTenantId: uuid("target_tenant_id"),
    /** Exports: where the archive is, its size and SHA-256. */
    objectKey: text("object_key"),
    bytes: bigint("bytes", { mode: "number" }),
    sha256: text("sha256"),
    error: text("error"),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    ...timestamps(),
  },
  (t) => [index("data_transfers_tenant_idx").on(t.tenantId, t.kind, t.createdAt)],
);

export type DataTransfer = typeof dataTransfers.$inferSelect;
