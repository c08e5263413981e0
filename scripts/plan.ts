/**
 * `npm run plan -- show [--tenant <uuid>]`
 * `npm run plan -- grant --plan business [--tenant <uuid>]`
 * `npm run plan -- grant --limits '{"conversationsPerMonth":50000,...,"modules":{"integrations":true,"voice":true}}'`
 * `npm run plan -- grant --clear-limits`
 *
 * The platform operator's view of a tenant's plan, and grants outside Stripe: another plan, or
 * custom limits over the plan's (a negotiated contract). The demo tenant unless `--tenant` says
 * otherwise; the owner database URL as `npm run apikey` finds it. Audited (actor `system:cli`).
 */
import { parseArgs } from "node:util";
import { getBilling, grantPlan, type BillingDto } from "../core/billing/account";
import { billingConfig } from "../core/billing/config";
import { DEMO_TENANT_ID } from "./seed";
import { asOperator } from "./stack/cli";

function print(billing: BillingDto): void {
  console.log(`Plan: ${billing.plan.name} (${billing.plan.id})${billing.basis === "plan" ? "" : `, limits: ${billing.basis}`}`);
  if (billing.subscription) console.log(`Subscription: ${billing.subscription.status}`);
  if (billing.grace) console.log(`Payment failed ${billing.grace.paymentFailedAt}; grace ends ${billing.grace.endsAt}`);
  for (const row of billing.usage) {
    console.log(`  ${row.limit.padEnd(22)} ${String(row.used).padStart(10)} of ${row.allowed === null ? "no limit" : row.allowed}`);
  }
  console.log(
    `  modules: integrations ${billing.limits.modules.integrations ? "yes" : "no"}, voice ${billing.limits.modules.voice ? "yes" : "no"}`,
  );
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: "string", default: DEMO_TENANT_ID },
      plan: { type: "string" },
      limits: { type: "string" },
      "clear-limits": { type: "boolean", default: false },
    },
  });
  const services = { billing: billingConfig(process.env) };
  const [command] = positionals;
  if (command === "show") {
    print(await asOperator(values.tenant, (ctx) => getBilling({ ctx: { ...ctx, services } })));
  } else if (command === "grant" && (values.plan || values.limits || values["clear-limits"])) {
    const limits = values["clear-limits"] ? null : values.limits ? (JSON.parse(values.limits) as unknown) : undefined;
    const granted = await asOperator(values.tenant, (ctx) =>
      grantPlan({
        ctx: { ...ctx, services },
        input: { ...(values.plan ? { plan: values.plan } : {}), ...(limits !== undefined ? { limits: limits as never } : {}) },
      }),
    );
    print(granted);
  } else {
    console.log("Usage: npm run plan -- show | grant (--plan ID | --limits JSON | --clear-limits) [--tenant UUID]");
    process.exitCode = 2;
  }
}

main().catch((error) => {
  console.error(`plan: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
