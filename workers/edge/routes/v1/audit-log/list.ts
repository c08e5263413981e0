import type { RouteHandler } from "@hono/zod-openapi";
import { listAuditLog } from "../../../../../core/access/audit-log";
import { auditQuery, auditRecordDto } from "../../../../../core/access/schemas";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";

export const route = adminRoute("users:read", {
  method: "get",
  path: "/",
  tags: ["Audit log"],
  operationId: "listAuditLog",
  summary: "List changes, newest first",
  description: "Who changed what, with before and after states (secrets masked). Filter by `resourceType`, `resourceId` or `action`.",
  request: { query: auditQuery },
  responses: { 200: jsonResponse(pageOf(auditRecordDto.openapi("AuditRecord"), "AuditRecordPage"), "A page of audit records") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => c.json(await runVerb(c, listAuditLog, c.req.valid("query")), 200);
