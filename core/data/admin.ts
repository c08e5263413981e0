import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { dataTransfers, users, type DataTransfer, type DataTransferProgress } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { requirePermission } from "../access/permissions";
import { signUp } from "../access/sign-in";
import { DomainError } from "../errors";

/**
 * Whole-tenant exports and imports as admin verbs. An export holds every end user's conversations,
 * so both need `contacts:read` (admins only among the built-in roles). The work itself runs in the
 * pool (core/data/export.ts, import.ts); these record the request, audit it and report progress.
 */
export interface DataTransferDto {
  id: string;
  kind: "export" | "import";
  status: DataTransfer["status"];
  progress: DataTransferProgress;
  /** Exports: the archive's size and SHA-256 once ready. */
  bytes: number | null;
  sha256: string | null;
  /** Imports: the export read and the tenant made for it. */
  sourceExportId: string | null;
  targetTenantId: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export function toDataTransferDto(row: DataTransfer): DataTransferDto {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    progress: row.progress,
    bytes: row.bytes,
    sha256: row.sha256,
    sourceExportId: row.sourceExportId,
    targetTenantId: row.targetTenantId,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Starts an export. While one is queued or running, asking again answers that one (`created:
 * false`) instead of starting another, so a retried request never doubles the work.
 */
export async function requestExport({
  ctx,
}: {
  ctx: AccessContext;
  input?: Record<string, never>;
}): Promise<{ transfer: DataTransferDto; created: boolean }> {
  requirePermission(ctx, "contacts:read");
  const [pending] = await ctx.tx
    .select()
    .from(dataTransfers)
    .where(
      and(eq(dataTransfers.tenantId, ctx.tenantId), eq(dataTransfers.kind, "export"), inArray(dataTransfers.status, ["queued", "running"])),
    )
    .limit(1);
  if (pending) return { transfer: toDataTransferDto(pending), created: false };
  const [row] = await ctx.tx
    .insert(dataTransfers)
    .values({ tenantId: ctx.tenantId, kind: "export", requestedBy: `${ctx.actor.type}:${ctx.actor.id}` })
    .returning();
  await recordAudit(ctx, { action: "tenant.export", resourceType: "data_transfer", resourceId: row!.id });
  return { transfer: toDataTransferDto(row!), created: true };
}

export const transferInput = z.object({ id: z.uuid() });

/** One export or import of the tenant; another tenant's id is 404. */
export async function getDataTransfer({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { id: string; kind: DataTransfer["kind"] };
}): Promise<DataTransferDto & { objectKey: string | null }> {
  requirePermission(ctx, "contacts:read");
  const { id } = transferInput.parse(input);
  const [row] = await ctx.tx
    .select()
    .from(dataTransfers)
    .where(and(eq(dataTransfers.tenantId, ctx.tenantId), eq(dataTransfers.id, id), eq(dataTransfers.kind, input.kind)));
  if (!row) throw new DomainError("NOT_FOUND", 404, `No ${input.kind} with this id.`);
  return { ...toDataTransferDto(row), objectKey: row.objectKey };
}

/** The tenant's exports or imports, newest first (the last 50). */
export async function listDataTransfers({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: { kind: DataTransfer["kind"] };
}): Promise<DataTransferDto[]> {
  requirePermission(ctx, "contacts:read");
  const rows = await ctx.tx
    .select()
    .from(dataTransfers)
    .where(and(eq(dataTransfers.tenantId, ctx.tenantId), eq(dataTransfers.kind, input.kind)))
    .orderBy(desc(dataTransfers.createdAt))
    .limit(50);
  return rows.map(toDataTransferDto);
}

export const importInput = z
  .object({
    exportId: z.uuid(),
    tenantName: z.string().trim().min(2).max(80),
  })
  .strict();
export type ImportInput = z.infer<typeof importInput>;

/**
 * Restores a finished export of this tenant into a NEW tenant named `tenantName`, with the caller
 * as its admin (so it needs a signed-in user, not an API key). The new tenant exists at once with
 * its built-in roles; the pool fills it. Audited in both tenants. While an import of the same export
 * is still queued, asking again answers that one rather than making another tenant.
 */
export async function requestImport({ ctx, input }: { ctx: AccessContext; input: ImportInput }): Promise<DataTransferDto> {
  requirePermission(ctx, "contacts:read");
  const { exportId, tenantName } = importInput.parse(input);
  const [source] = await ctx.tx
    .select()
    .from(dataTransfers)
    .where(and(eq(dataTransfers.tenantId, ctx.tenantId), eq(dataTransfers.id, exportId), eq(dataTransfers.kind, "export")));
  if (!source) throw new DomainError("NOT_FOUND", 404, "No export with this id.");
  if (source.status !== "ready") {
    throw new DomainError("EXPORT_NOT_READY", 409, "That export is not finished yet; import it once its status is ready.");
  }
  if (ctx.actor.type !== "user") {
    throw new DomainError(
      "USER_REQUIRED",
      400,
      "An import makes the caller the new tenant's admin: call it as a signed-in user, not with an API key.",
    );
  }
  // A repeated request (its job could not be queued, or the answer was lost) answers the import already made.
  const [queued] = await ctx.tx
    .select()
    .from(dataTransfers)
    .where(
      and(
        eq(dataTransfers.tenantId, ctx.tenantId),
        eq(dataTransfers.kind, "import"),
        eq(dataTransfers.sourceExportId, source.id),
        eq(dataTransfers.status, "queued"),
      ),
    )
    .limit(1);
  if (queued) return toDataTransferDto(queued);
  const [user] = await ctx.tx.select().from(users).where(eq(users.id, ctx.actor.id));
  if (!user) throw new DomainError("NOT_FOUND", 404, "The caller's user record is not visible.");
  const made = await signUp(ctx.tx as never, {
    tenantName,
    email: user.email,
    subject: user.authSubject,
    ...(user.name ? { name: user.name } : {}),
  });
  const [row] = await ctx.tx
    .insert(dataTransfers)
    .values({
      tenantId: ctx.tenantId,
      kind: "import",
      requestedBy: `${ctx.actor.type}:${ctx.actor.id}`,
      sourceExportId: source.id,
      targetTenantId: made.tenantId,
    })
    .returning();
  await recordAudit(ctx, {
    action: "tenant.import",
    resourceType: "data_transfer",
    resourceId: row!.id,
    after: { exportId: source.id, targetTenantId: made.tenantId, tenantName, slug: made.slug },
  });
  return toDataTransferDto(row!);
}
