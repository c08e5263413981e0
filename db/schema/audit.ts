import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, id, tenantId } from "./columns";

export type AuditActorType = "user" | "api_key" | "system";

/**
 * Every change made through the admin API, written in the same transaction as the change.
 * `before`/`after` are the record's state with secrets masked. Append-only for the application:
 * its row-level security policies allow SELECT and INSERT only.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: id(),
    tenantId: tenantId(),
    actorType: text("actor_type").$type<AuditActorType>().notNull(),
    /** A user id or an API key id. */
    actorId: text("actor_id").notNull(),
    /** `<resource>.<verb>`, e.g. `role.create`. */
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    before: jsonb("before").$type<Record<string, unknown>>(),
    after: jsonb("after").$type<Record<string, unknown>>(),
    requestId: text("request_id"),
    createdAt: createdAt(),
  },
  (t) => [index("audit_log_tenant_created_idx").on(t.tenantId, t.createdAt, t.id)],
);

export type AuditRecord = typeof auditLog.$inferSelect;
export type NewAuditRecord = typeof auditLog.$inferInsert;
