import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { buildTenantGraph, insertTenantGraph, type TenantGraph } from "../../db/fixtures";
import { auditLog, tenants } from "../../db/schema";
import { runAsMember, useTestDatabase } from "../../test/support/verbs";
import type { AccessContext } from "../access/context";
import { purgeDueTenants, requestTenantDeletion, restoreTenant, tenantDeletionOf } from "./deletion";

const db = useTestDatabase();

function as<O>(graph: TenantGraph, verb: (args: { ctx: AccessContext; input: never }) => Promise<O>, input?: unknown): Promise<O> {
  return runAsMember(db.app, graph, verb, input as never);
}

async function populated(): Promise<TenantGraph> {
  const graph = buildTenantGraph();
  await insertTenantGraph(db.admin, graph);
  return graph;
}

/** Rows of the tenant in every table with a `tenant_id` column, read from the catalogue (not a hand list), and its own row. */
async function rowsEverywhere(tenantId: string): Promise<Record<string, number>> {
  const { rows: tables } = await db.admin.execute<{ table_name: string }>(sql`
    select table_name from information_schema.columns
     where table_schema = 'public' and column_name = 'tenant_id' order by table_name`);
  expect(tables.length).toBeGreaterThan(20);
  const counts: Record<string, number> = {};
  for (const { table_name: table } of tables) {
    const { rows } = await db.admin.execute<{ n: number }>(
      sql`select count(*)::int as n from ${sql.identifier(table)} where tenant_id = ${tenantId}::uuid`,
    );
    counts[table] = rows[0]!.n;
  }
  const [own] = await db.admin
    .select({ n: sql<number>`count(*)::int` })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  counts.tenants = own!.n;
  return counts;
}

const T = new Date("2027-01-10T09:00:00Z");
const later = (days: number) => new Date(T.getTime() + days * 86_400_000);

describe("tenant deletion", () => {
  it("needs the tenant's name typed; stops the tenant with a purge date; repeating answers the same dates; audited", async () => {
    const graph = await populated();
    await expect(as(graph, requestTenantDeletion, { confirmName: "not the name", graceDays: 30 })).rejects.toMatchObject({
      code: "CONFIRMATION_MISMATCH",
      status: 422,
    });
    expect(await tenantDeletionOf(db.app, graph.tenant.id)).toBeUndefined();
    const deletion = await as(graph, requestTenantDeletion, { confirmName: graph.tenant.name, graceDays: 30, now: T });
    expect(deletion).toEqual({ deletionRequestedAt: T.toISOString(), purgeAfter: later(30).toISOString() });
    expect(await as(graph, requestTenantDeletion, { confirmName: graph.tenant.name, graceDays: 5 })).toEqual(deletion);
    expect(await tenantDeletionOf(db.app, graph.tenant.id)).toEqual(deletion);
    const audits = await db.admin.select().from(auditLog).where(eq(auditLog.tenantId, graph.tenant.id));
    expect(audits.filter((row) => row.action === "tenant.delete")).toHaveLength(1);
  });

  it("restores within the grace period; nothing to restore is a conflict", async () => {
    const graph = await populated();
    await as(graph, requestTenantDeletion, { confirmName: graph.tenant.name, graceDays: 30, now: T });
    expect(await as(graph, restoreTenant)).toEqual({ restored: true });
    expect(await tenantDeletionOf(db.app, graph.tenant.id)).toBeUndefined();
    await expect(as(graph, restoreTenant)).rejects.toMatchObject({ code: "CONFLICT", status: 409 });
    // Restored, it is never purged.
    expect(await purgeDueTenants({ db: db.app }, later(365))).not.toContain(graph.tenant.id);
  });

  it("purges after the grace period: not a row left in any tenant table, its collections dropped, other tenants untouched", async () => {
    const doomed = await populated();
    const other = await populated();
    const otherBefore = await rowsEverywhere(other.tenant.id);
    const before = await rowsEverywhere(doomed.tenant.id);
    expect(Object.values(before).filter((n) => n > 0).length).toBeGreaterThan(15);
    await as(doomed, requestTenantDeletion, { confirmName: doomed.tenant.name, graceDays: 30, now: T });

    const dropped: string[] = [];
    const store = {
      dropKnowledgeBase: async ({ knowledgeBaseId }: { tenantId: string; knowledgeBaseId: string }) =>
        void dropped.push(`kb:${knowledgeBaseId}`),
      dropMemory: async (tenantId: string) => void dropped.push(`memory:${tenantId}`),
    };
    expect(await purgeDueTenants({ db: db.app, store }, later(29))).not.toContain(doomed.tenant.id);
    expect((await rowsEverywhere(doomed.tenant.id)).tenants).toBe(1);

    expect(await purgeDueTenants({ db: db.app, store }, later(30))).toContain(doomed.tenant.id);
    const after = await rowsEverywhere(doomed.tenant.id);
    expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
    expect(dropped).toEqual([`kb:${doomed.rows.knowledge_bases.id}`, `memory:${doomed.tenant.id}`]);
    expect(await rowsEverywhere(other.tenant.id)).toEqual(otherBefore);
    // A second pass finds nothing.
    expect(await purgeDueTenants({ db: db.app, store }, later(31))).not.toContain(doomed.tenant.id);
  });
});
