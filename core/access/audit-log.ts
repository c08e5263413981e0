import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import { auditLog } from "../../db/schema";
import type { AccessContext } from "./context";
import { keyset, type Page } from "./pagination";
import { requirePermission } from "./permissions";
import { type auditQuery, type AuditRecordDto, iso } from "./schemas";

/** The tenant's audit trail, newest first, optionally narrowed to a resource or an action. */
export async function listAuditLog({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: z.infer<typeof auditQuery>;
}): Promise<Page<AuditRecordDto>> {
  requirePermission(ctx, "users:read");
  const page = keyset(auditLog, input);
  const rows = await ctx.tx
    .select({ record: auditLog, id: auditLog.id, cursorAt: page.cursorColumn })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.tenantId, ctx.tenantId),
        input.resourceType ? eq(auditLog.resourceType, input.resourceType) : undefined,
        input.resourceId ? eq(auditLog.resourceId, input.resourceId) : undefined,
        input.action ? eq(auditLog.action, input.action) : undefined,
        page.after,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, ({ record }) => ({
    id: record.id,
    actor: { type: record.actorType, id: record.actorId },
    action: record.action,
    resourceType: record.resourceType,
    resourceId: record.resourceId,
    before: record.before,
    after: record.after,
    requestId: record.requestId,
    createdAt: iso(record.createdAt)!,
  }));
}
