/**
 * `npm run apikey -- create --role admin [--name "my script"] [--tenant <uuid>]`
 * `npm run apikey -- list [--tenant <uuid>]`
 * `npm run apikey -- revoke <api key id> [--tenant <uuid>]`
 *
 * Mints, lists and revokes admin API keys from the command line, for the demo tenant unless
 * `--tenant` says otherwise. It uses the owner database URL: `DATABASE_URL` when set, else the one
 * the running `npm start` wrote to .data/stack.json (embedded PGlite). It calls the same verbs as
 * the API (audited, actor `system:cli`), inside a tenant-scoped transaction.
 */
import { parseArgs } from "node:util";
import { and, eq } from "drizzle-orm";
import { createApiKey, listApiKeys, revokeApiKey } from "../core/access/api-keys";
import type { AccessContext } from "../core/access/context";
import { roles } from "../db/schema";
import { DEMO_TENANT_ID } from "./seed";
import { asOperator } from "./stack/cli";

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: "string", default: "admin" }, name: { type: "string" }, tenant: { type: "string", default: DEMO_TENANT_ID } },
  });
  const [command, id] = positionals;
  const run = <T>(fn: (ctx: AccessContext) => Promise<T>) => asOperator(values.tenant, fn);
  if (command === "create") {
    const created = await run(async (ctx) => {
      const [role] = await ctx.tx
        .select()
        .from(roles)
        .where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.name, values.role)));
      if (!role) throw new Error(`The tenant has no role named "${values.role}".`);
      return createApiKey({ ctx, input: { name: values.name ?? `cli ${new Date().toISOString()}`, roleId: role.id } });
    });
    console.log(`Created API key ${created.id} (role ${created.role.name}) for tenant ${values.tenant}.`);
    console.log("Shown once; keep it somewhere safe:\n");
    console.log(`  ${created.key}\n`);
    console.log(`Try: curl -H "Authorization: Bearer ${created.key}" http://127.0.0.1:8787/v1/me`);
  } else if (command === "list") {
    const page = await run((ctx) => listApiKeys({ ctx, input: { limit: 100 } }));
    for (const key of page.data) {
      console.log(`${key.id}  ${key.prefix}  ${key.role.name.padEnd(8)} ${key.revokedAt ? "revoked" : "active "}  ${key.name}`);
    }
  } else if (command === "revoke" && id) {
    const revoked = await run((ctx) => revokeApiKey({ ctx, input: { apiKeyId: id } }));
    console.log(`Revoked ${revoked.id} at ${revoked.revokedAt}.`);
  } else {
    console.log(
      "Usage: npm run apikey -- create --role admin|editor|viewer [--name NAME] [--tenant UUID]\n       npm run apikey -- list | revoke <id>",
    );
    process.exitCode = 2;
  }
}

main().catch((error) => {
  console.error(`apikey: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
