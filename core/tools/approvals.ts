import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { tenants, toolApprovals, type ToolApproval } from "../../db/schema";
import { integrationTool } from "../integrations/registry";
import { readTenantSettings } from "../tenants/settings";
import { recordAudit } from "../access/audit";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { actorLabel, type DomainContext } from "../agents/context";
import { DomainError } from "../errors";

/**
 * Risky tool calls waiting for a person: the approvals queue an operator lists and decides
 * (`/v1/tools/approvals`). The agent side (asking, running once approved) is workers/pool/tools.ts.
 */

export const approvalDto = z.object({
  id: z.uuid(),
  toolId: z.uuid().nullable().describe("The tenant HTTP tool called; null for an integration tool"),
  integrationTool: z.string().nullable().describe("The integration tool called, `<provider>.<tool>`; null for an HTTP tool"),
  conversationId: z.uuid().nullable(),
  arguments: z.record(z.string(), z.unknown()),
  status: z.enum(["pending", "approved", "rejected", "used"]),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type ApprovalDto = z.infer<typeof approvalDto>;

function toApprovalDto(row: ToolApproval): ApprovalDto {
  return {
    id: row.id,
    toolId: row.toolId,
    integrationTool: row.integrationTool,
    conversationId: row.conversationId,
    arguments: row.arguments,
    status: row.status,
    decidedBy: row.decidedBy,
    decidedAt: iso(row.decidedAt),
    createdAt: iso(row.createdAt)!,
  };
}

/** Tool calls waiting for (or given) approval, newest first; `status` filters. */
export async function listApprovals({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: PageInput & { status?: ToolApproval["status"] };
}): Promise<Page<ApprovalDto>> {
  requirePermission(ctx, "tools:read");
  const page = keyset(toolApprovals, input);
  const rows = await ctx.tx
    .select({ approval: toolApprovals, id: toolApprovals.id, cursorAt: page.cursorColumn })
    .from(toolApprovals)
    .where(and(eq(toolApprovals.tenantId, ctx.tenantId), input.status ? eq(toolApprovals.status, input.status) : undefined, page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toApprovalDto(row.approval));
}

/** How long a pending call can be decided; afterwards the model has to ask again. */
export const APPROVAL_TTL_HOURS = 24;

/**
 * An operator approves or rejects a pending call. An approved call runs the next time the model
 * makes it in that conversation (same tool, same arguments), once. A rejected call stays rejected
 * (the model is told so) unless an operator approves it later; a used one, or a pending one past
 * {@link APPROVAL_TTL_HOURS} hours, cannot be decided any more.
 */
export async function decideApproval({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { approvalId: string; decision: "approve" | "reject" };
}): Promise<ApprovalDto> {
  requirePermission(ctx, "tools:write");
  const [current] = await ctx.tx
    .select()
    .from(toolApprovals)
    .where(and(eq(toolApprovals.tenantId, ctx.tenantId), eq(toolApprovals.id, input.approvalId)))
    .for("update");
  if (!current) throw new DomainError("APPROVAL_NOT_FOUND", 404, "approval not found");
  if (input.decision === "approve" && current.integrationTool && integrationTool(current.integrationTool)?.tool.approval === "operator") {
    // Money moving back (a refund): only the roles the tenant names may approve it.
    const [tenant] = await ctx.tx.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, ctx.tenantId));
    const allowed = readTenantSettings(tenant?.settings).refundApproverRoles;
    if (!allowed.includes(ctx.role.name))
      throw new DomainError(
        "APPROVER_ROLE_REQUIRED",
        403,
        `Approving ${current.integrationTool} needs one of these roles: ${allowed.join(", ")}.`,
        {
          roles: allowed,
        },
      );
  }
  const reapproval = current.status === "rejected" && input.decision === "approve";
  if (current.status !== "pending" && !reapproval) throw new DomainError("APPROVAL_DECIDED", 409, `the call is already ${current.status}`);
  if (current.status === "pending" && current.createdAt.getTime() < Date.now() - APPROVAL_TTL_HOURS * 3_600_000) {
    throw new DomainError("APPROVAL_EXPIRED", 409, "the request has expired; the agent will ask again if the call is still wanted");
  }
  const [row] = await ctx.tx
    .update(toolApprovals)
    .set({ status: input.decision === "approve" ? "approved" : "rejected", decidedBy: actorLabel(ctx.actor), decidedAt: sql`now()` })
    .where(and(eq(toolApprovals.tenantId, ctx.tenantId), eq(toolApprovals.id, current.id)))
    .returning();
  const dto = toApprovalDto(row!);
  await recordAudit(ctx, {
    action: `tool_approval.${input.decision}`,
    resourceType: "tool_approval",
    resourceId: current.id,
    before: toApprovalDto(current),
    after: dto,
  });
  return dto;
}
