import { z, type RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import { decideApproval, listApprovals } from "../../../../../core/tools/approvals";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { approvalSchema } from "./schemas";

export const listRoute = adminRoute("tools:read", {
  method: "get",
  path: "/approvals",
  tags: ["Tools"],
  operationId: "listToolApprovals",
  summary: "List calls to tools that require approval",
  request: { query: pageQuery.extend({ status: z.enum(["pending", "approved", "rejected", "used"]).optional() }) },
  responses: { 200: jsonResponse(pageOf(approvalSchema, "ToolApprovalPage"), "A page of approval requests") },
});

const decisionRoute = (decision: "approve" | "reject") =>
  adminRoute("tools:write", {
    method: "post",
    path: `/approvals/{approvalId}/${decision}`,
    tags: ["Tools"],
    operationId: decision === "approve" ? "approveToolCall" : "rejectToolCall",
    summary: decision === "approve" ? "Approve a pending tool call (it runs when the model makes it again)" : "Reject a pending tool call",
    request: { params: uuidParam("approvalId") },
    responses: { 200: jsonResponse(approvalSchema, "The approval request") },
  });
export const approveRoute = decisionRoute("approve");
export const rejectRoute = decisionRoute("reject");

export const listHandler: RouteHandler<typeof listRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, listApprovals, c.req.valid("query")), 200);
export const approveHandler: RouteHandler<typeof approveRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, decideApproval, { ...c.req.valid("param"), decision: "approve" }), 200);
export const rejectHandler: RouteHandler<typeof rejectRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, decideApproval, { ...c.req.valid("param"), decision: "reject" }), 200);
