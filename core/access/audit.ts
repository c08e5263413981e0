import { auditLog } from "../../db/schema";
import type { AccessContext } from "./context";

const SECRET_KEY = /(secret|token|password|passphrase|hash|credential|api_?keys?$|provider_?keys$|^key$|auth_?config|private)/i;

/**
 * A copy of `value` with every field whose name looks secret replaced by `"[masked]"`, at any
 * depth, so audit records can hold before/after states of records that carry credentials.
 */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) && inner != null ? "[masked]" : maskSecrets(inner)]),
    );
  }
  return value;
}

export interface AuditEntry {
  /** `<resource>.<verb>`, e.g. `role.update`. */
  action: string;
  resourceType: string;
  resourceId?: string | null;
  before?: object | null;
  after?: object | null;
}

/**
 * Appends one audit record inside the verb's transaction: if the change rolls back, so does its
 * record, and a change cannot commit without one.
 */
export async function recordAudit(ctx: Pick<AccessContext, "tenantId" | "actor" | "tx" | "requestId">, entry: AuditEntry): Promise<void> {
  await ctx.tx.insert(auditLog).values({
    tenantId: ctx.tenantId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId ?? null,
    before: entry.before ? (maskSecrets(entry.before) as Record<string, unknown>) : null,
    after: entry.after ? (maskSecrets(entry.after) as Record<string, unknown>) : null,
    requestId: ctx.requestId ?? null,
  });
}
