import type { Context } from "hono";
import type { AccessContext } from "../../../../core/access/context";
import { withTenant } from "../../../../db/tenant";
import type { AppEnv } from "../../context";

/**
 * Runs a domain verb for the authenticated caller, in one transaction scoped to their tenant
 * (forced row-level security as `agent_app`): the verb's change and its audit record commit
 * together. Handlers only validate, call this, and shape the answer.
 */
export function runVerb<I, O>(c: Context<AppEnv>, verb: (args: { ctx: AccessContext; input: I }) => Promise<O>, input: I): Promise<O> {
  const principal = c.get("principal");
  const db = c.get("db");
  if (!principal || !db) throw new Error("runVerb: authenticate() and database() must run first");
  return withTenant(db, principal.tenantId, (tx) => verb({ ctx: { ...principal, tx, requestId: c.get("requestId") }, input }));
}
