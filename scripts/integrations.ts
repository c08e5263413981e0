/**
 * `npm run integrations` (status) · `npm run integrations -- connect <hubspot|salesforce|stripe>`
 * `npm run integrations -- disconnect <provider>` · `npm run integrations -- pay <payment link URL | latest>`
 *
 * Tries the integrations on the stack `npm start` runs, through the admin API with a temporary
 * admin key of the demo tenant: `connect` runs the OAuth round trip the way a browser would (the
 * local fake approves at once and redirects to our public callback) and gives the demo agent the
 * provider's tools; then `npm run chat` and `/tool hubspot_find_contact {"email":"ada@example.com"}`
 * (the offline model calls a tool when it is named; with OPENAI_API_KEY the model decides).
 * `pay` pays a payment link at the local Stripe fake, which sends Stripe's signed events to our
 * webhook: the chat hears "Payment received".
 */
import { DEMO_AGENT_ID, DEMO_TENANT_ID } from "./seed";
import { readStackState, withTemporaryApiKey } from "./stack/cli";

const PROVIDERS = ["hubspot", "salesforce", "stripe"];

interface CatalogueEntry {
  provider: string;
  name: string;
  oauth: { available: boolean };
  tools: Array<{ name: string; requiresApproval: boolean }>;
  connection: { id: string; status: string; authMethod: string; account: Record<string, unknown>; lastError: string | null } | null;
}

async function main() {
  const [command = "status", argument] = process.argv.slice(2);
  const state = await readStackState();
  const edge = state.edgeUrl;
  if (command === "pay") {
    if (!argument) throw new Error("usage: npm run integrations -- pay <payment link URL | plink_… | latest>");
    if (!state.integrations) throw new Error("the running stack has no integration fakes (npm start runs them)");
    const response = await fetch(`${state.integrations.stripe}/_fake/pay?link=${encodeURIComponent(argument)}`, { method: "POST" });
    const body = (await response.json()) as { delivered?: number[]; error?: { message: string } };
    if (!response.ok) throw new Error(body.error?.message ?? `the Stripe fake answered ${response.status}`);
    console.log(`Paid ${argument}: Stripe's events delivered to our webhook (HTTP ${body.delivered?.join(", ")}). Watch the chat.`);
    return;
  }
  await withTemporaryApiKey(DEMO_TENANT_ID, async (key) => {
    const api = async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
      const response = await fetch(`${edge}${path}`, {
        method: init.method ?? "GET",
        headers: { authorization: `Bearer ${key}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const body = (await response.json()) as T & { error?: { code: string; message: string } };
      if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${body.error?.message ?? ""}`);
      return body;
    };
    const catalogue = async () => (await api<{ data: CatalogueEntry[] }>("/v1/integrations")).data;

    if (command === "status") {
      for (const entry of await catalogue()) {
        const c = entry.connection;
        const state = c
          ? `${c.status} (${c.authMethod}, account ${String(c.account.name ?? c.account.id)})${c.lastError ? `: ${c.lastError}` : ""}`
          : "not connected";
        console.log(`${entry.name.padEnd(11)} ${state}`);
      }
      console.log("\nConnect one: npm run integrations -- connect hubspot");
      return;
    }
    if (!argument || !PROVIDERS.includes(argument)) throw new Error(`usage: npm run integrations -- ${command} <${PROVIDERS.join("|")}>`);
    const entry = (await catalogue()).find((e) => e.provider === argument)!;

    if (command === "connect") {
      const { authorizationUrl } = await api<{ authorizationUrl: string }>(`/v1/integrations/${argument}/connect`, {
        method: "POST",
        body: { method: "oauth" },
      });
      console.log(`Authorizing at ${new URL(authorizationUrl).origin} (the local ${entry.name} fake approves at once)…`);
      // What the browser does: the provider's consent screen redirects back to our public callback.
      const consent = await fetch(authorizationUrl, { redirect: "manual" });
      const callback = consent.headers.get("location");
      if (!callback) throw new Error(`${entry.name} did not redirect back (HTTP ${consent.status})`);
      const page = await fetch(callback);
      const title = /<h1>([^<]*)<\/h1><p>([^<]*)<\/p>/.exec(await page.text());
      console.log(`${title?.[1] ?? `HTTP ${page.status}`}: ${title?.[2] ?? ""}`);
      if (!page.ok) process.exitCode = 1;
      const tools = entry.tools.map((t) => t.name);
      await api(`/v1/integrations/${argument}/agents/${DEMO_AGENT_ID}`, { method: "PUT", body: { tools } });
      console.log(`\nThe demo agent now has: ${tools.join(", ")}.`);
      console.log("Try it: npm run chat, then for example");
      const examples: Record<string, string> = {
        hubspot: '/tool hubspot_find_contact {"email":"ada@example.com"}',
        salesforce: '/tool salesforce_find_person {"email":"grace@example.com"}',
        stripe: '/tool stripe_create_payment_link {"priceId":"price_DEMO0001","quantity":1}',
      };
      console.log(`  ${examples[argument]}`);
      if (argument === "stripe")
        console.log("  (reply CONFIRM <code>, send the same /tool line again, then: npm run integrations -- pay latest)");
      return;
    }
    if (command === "disconnect") {
      if (!entry.connection) throw new Error(`${entry.name} is not connected`);
      const { revoked } = await api<{ revoked: boolean }>(`/v1/integration-connections/${entry.connection.id}`, { method: "DELETE" });
      console.log(
        `${entry.name} disconnected${revoked ? " (revoked at the provider)" : " (the provider did not confirm the revocation)"}.`,
      );
      return;
    }
    throw new Error(`unknown command ${command}: status, connect, disconnect or pay`);
  });
}

main().catch((error) => {
  console.error(`integrations: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
