import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { createApiKey, revokeApiKey } from "../../core/access/api-keys";
import type { AccessContext } from "../../core/access/context";
import { ALL_PERMISSIONS } from "../../core/access/permissions";
import { createPoolDb } from "../../db/client";
import { roles } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { PROJECT_ROOT, type StackState } from "../local-stack";

/** What `npm start` wrote to .data/stack.json, or a clear error when the stack is not running. */
export async function readStackState(): Promise<StackState> {
  try {
    return JSON.parse(await readFile(join(PROJECT_ROOT, ".data", "stack.json"), "utf8")) as StackState;
  } catch {
    throw new Error("the local stack is not running: start it with `npm start` in another terminal");
  }
}

/** The running `npm start`'s state, or undefined when none runs (no state file, or its process is gone). */
export async function runningStack(): Promise<StackState | undefined> {
  const state = await readStackState().catch(() => undefined);
  if (!state) return undefined;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch (error) {
    // EPERM: alive but someone else's.
    return (error as NodeJS.ErrnoException).code === "EPERM" ? state : undefined;
  }
}

/** The owner database URL: `DATABASE_URL` when set, else the one the running `npm start` wrote (embedded PGlite). */
export async function ownerDatabaseUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  try {
    const state = await readStackState();
    if (state.adminDatabaseUrl) return state.adminDatabaseUrl;
  } catch {
    // fall through
  }
  throw new Error("No database: start the stack with `npm start` (or set DATABASE_URL to the owner URL).");
}

/**
 * Runs operator work in one tenant as `system:cli` (every permission), through the same verbs the
 * API calls, in a tenant-scoped transaction; the verbs audit it.
 */
export async function asOperator<T>(tenantId: string, work: (ctx: AccessContext) => Promise<T>, databaseUrl?: string): Promise<T> {
  const handle = createPoolDb(databaseUrl ?? (await ownerDatabaseUrl()), { max: 1, applicationName: "agent-platform-cli" });
  try {
    return await withTenant(handle.db, tenantId, (tx) =>
      work({
        tenantId,
        actor: { type: "system", id: "cli" },
        role: { id: "cli", name: "operator" },
        permissions: new Set(ALL_PERMISSIONS),
        allowedOrigins: [],
        tx,
      }),
    );
  } finally {
    await handle.close();
  }
}

/** An admin API key of the tenant for the length of `work`, revoked afterwards (CLIs that drive the admin API). */
export async function withTemporaryApiKey<T>(tenantId: string, work: (key: string) => Promise<T>): Promise<T> {
  const created = await asOperator(tenantId, async (ctx) => {
    const [role] = await ctx.tx
      .select()
      .from(roles)
      .where(and(eq(roles.tenantId, tenantId), eq(roles.name, "admin")));
    if (!role) throw new Error("The tenant has no admin role.");
    return createApiKey({ ctx, input: { name: `cli ${new Date().toISOString()}`, roleId: role.id } });
  });
  try {
    return await work(created.key);
  } finally {
    await asOperator(tenantId, (ctx) => revokeApiKey({ ctx, input: { apiKeyId: created.id } }));
  }
}
