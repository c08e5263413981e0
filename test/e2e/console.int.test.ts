import AxeBuilder from "@axe-core/playwright";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSignInLink } from "../../core/access/sign-in";
import { createPoolDb, type DbHandle } from "../../db/client";
import { memberships } from "../../db/schema";
import { withTenant } from "../../db/tenant";
import { consoleSignInUrl, PROJECT_ROOT, startLocalStack, type LocalStack } from "../../scripts/local-stack";
import { launchBrowser } from "../support/browser";
import { createTestDatabase, type TestDatabase } from "../support/database";
import type pg from "pg";

/**
 * The console end to end in Chromium against the real local stack (edge under workerd serving the
 * built console as static assets, queue, pool, Chroma, database), signed in without Auth0: sign-up,
 * the first-run wizard, every panel with its screenshot and an axe check, the playground's turn in
 * the inbox and analytics, a viewer who cannot edit, 375 px, Spanish. The sign-in API's security
 * cases come first.
 */
const OUT = join(PROJECT_ROOT, "test-results", "console");

let database: TestDatabase;
let stack: LocalStack;
let admin: DbHandle<pg.Pool>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let agentId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  stack = await startLocalStack({
    database: { adminUrl: database.adminUrl, appUrl: database.appUrl, kind: database.kind },
    output: "quiet",
    edgeVars: { LOG_LEVEL: "warn" },
    poolEnv: { LOG_LEVEL: "warn", POOL_WAIT_TIME_SECONDS: "1", POOL_JOBS_INTERVAL_SECONDS: "1" },
  });
  admin = createPoolDb(database.adminUrl, { max: 2 });
  browser = await launchBrowser();
  context = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await mkdir(OUT, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await stack?.stop();
  await database?.close();
});

async function post(path: string, body: unknown, token?: string) {
  const response = await fetch(`${stack.edge.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & { error?: { code: string; details?: unknown } },
  };
}

async function get(path: string, token: string) {
  const response = await fetch(`${stack.edge.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const tokenOf = (url: string) => decodeURIComponent(new URL(url).hash.split("token=")[1]!);

/** A screenshot, an axe check (no serious or critical violation) and, at 375 px, no sideways scrolling. */
async function checkPanel(name: string) {
  await page.waitForSelector("h1");
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  const { violations } = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  const serious = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, name).toEqual([]);
  await page.setViewportSize({ width: 375, height: 800 });
  // Strings run in the page (the test's own types have no DOM).
  const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
  // What sticks out, for the failure message: the outermost elements reaching past the right edge.
  const culprits = await page.evaluate<string[]>(`[...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 1))
    .slice(0, 5).map((e) => e.tagName.toLowerCase() + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`);
  await page.screenshot({ path: join(OUT, `${name}-375.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  expect(overflow, `${name} scrolls sideways at 375 px: ${culprits.join("; ")}`).toBeLessThanOrEqual(0);
}

async function open(hash: string, heading: string) {
  await page.goto(`${stack.edge.url}/console/#${hash}`);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

describe("sign-in without Auth0", () => {
  it("redeems a link once for a session that names the user, and refuses unknown, used, expired and forged ones", async () => {
    const url = await consoleSignInUrl(database.adminUrl, stack.edge.url, {
      tenantId: stack.demo!.tenantId,
      userId: stack.demo!.adminUserId,
    });
    expect(new URL(url).pathname).toBe("/console/");
    const first = await post("/v1/session", { token: tokenOf(url) });
    expect(first.status).toBe(200);
    const me = await get("/v1/me", first.body.accessToken as string);
    expect(me.body).toMatchObject({
      tenantId: stack.demo!.tenantId,
      actor: { type: "user", id: stack.demo!.adminUserId },
      role: { name: "admin" },
    });

    const again = await post("/v1/session", { token: tokenOf(url) });
    expect(again.status).toBe(401);
    expect(again.body.error?.code).toBe("UNAUTHORIZED");
    expect((await post("/v1/session", { token: "sl_not-a-link" })).status).toBe(401);
    expect((await post("/v1/session", {})).body.error?.code).toBe("INVALID_BODY");

    const expired = await withTenant(admin.db, stack.demo!.tenantId, (tx) =>
      createSignInLink(tx, { tenantId: stack.demo!.tenantId, userId: stack.demo!.adminUserId, ttlMs: -1_000 }),
    );
    expect((await post("/v1/session", { token: expired.token })).status).toBe(401);

    const session = first.body.accessToken as string;
    const forged = `${session.slice(0, -4)}${session.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const refused = await fetch(`${stack.edge.url}/v1/me`, { headers: { authorization: `Bearer ${forged}` } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("signs up a tenant with its admin, refuses bad input field by field, and ends a removed user's session", async () => {
    const bad = await post("/v1/signup", { tenantName: "x", email: "not-an-email" });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe("INVALID_BODY");
    expect((bad.body.error?.details as { path: string }[]).map((d) => d.path).sort()).toEqual(["email", "tenantName"]);

    const created = await post("/v1/signup", { tenantName: "Removal Test", email: "Owner@Removal.example" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: "removal-test", signInUrl: expect.stringContaining("/console/#/sign-in?token=sl_") });
    const twin = await post("/v1/signup", { tenantName: "Removal Test", email: "other@removal.example" });
    expect(twin.status).toBe(201);
    expect(twin.body.slug).toMatch(/^removal-test-[a-z0-9x]{4}$/);

    const session = (await post("/v1/session", { token: created.body.signInToken })).body.accessToken as string;
    const me = await get("/v1/me", session);
    expect(me.body).toMatchObject({ tenantId: created.body.tenantId, role: { name: "admin" } });
    const audit = await get("/v1/audit-log", session);
    expect((audit.body.data as { action: string }[]).map((r) => r.action)).toContain("tenant.sign_up");

    await admin.db.delete(memberships).where(eq(memberships.userId, created.body.userId as string));
    const after = await get("/v1/me", session);
    expect(after.status).toBe(401);
  });
});

describe("the console", () => {
  it("is served by the edge at /console/ with a strict content security policy, and /v1 still reaches the worker", async () => {
    const response = await fetch(`${stack.edge.url}/console/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(await response.text()).toContain('<div id="root">');
    expect((await fetch(`${stack.edge.url}/v1/me`)).status).toBe(401);
  });

  it("signs up, runs the first-run wizard and lands on the new agent", async () => {
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" && !/status of 4\d\d/.test(message.text())) errors.push(message.text());
    });
    await page.goto(`${stack.edge.url}/console/#/sign-up`);
    await checkPanel("sign-up");
    await page.getByLabel("Organisation name").fill("Panadería Ñandú");
    await page.getByLabel("Work email").fill("owner@nandu.example");
    await page.getByLabel("Your name").fill("Ana");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await page.getByRole("heading", { level: 1, name: "Get started" }).waitFor();
    await checkPanel("welcome");

    await page.getByRole("button", { name: "Use this template" }).first().click();
    await page.getByText("Agent “Customer support” created.").waitFor();
    await page.getByRole("button", { name: "Connect web chat" }).click();
    await page.getByText("Web chat connected.").waitFor();
    await page.getByRole("link", { name: "Open the agent" }).click();
    await page.getByRole("heading", { level: 1, name: "Customer support" }).waitFor();
    agentId = page.url().split("/agents/")[1]!;
    expect(errors).toEqual([]);
  });

  it("shows the API's field error next to the field, saves a new version, diffs and rolls back", async () => {
    await page.getByLabel("Temperature").fill("5");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const issue = page.locator('[data-field="temperature"]');
    await issue.waitFor();
    expect(await issue.textContent()).toMatch(/2/);
    expect(await page.getByRole("alert").first().getAttribute("data-code")).toBe("INVALID_BODY");
    expect(await page.getByLabel("Temperature").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Temperature").fill("0.5");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Saved as version 2.").waitFor();
    const diff = page.getByTestId("version-diff");
    await diff.waitFor();
    expect(await diff.textContent()).toContain("temperature");
    await checkPanel("agent-editor");

    await page.getByRole("button", { name: "Restore v1" }).click();
    await page.getByText("v3").first().waitFor();
    expect(await page.getByLabel("Temperature").inputValue()).toBe("0.2");
  });

  it("chats in the playground, showing the model, cost and latency of the turn", async () => {
    await page.getByLabel("Message", { exact: true }).fill("Hello, what can you do?");
    await page.getByRole("button", { name: "Send" }).click();
    const transcript = page.getByTestId("playground-transcript");
    await transcript.locator(".message.outbound .turn").waitFor({ timeout: 30_000 });
    const turn = await transcript.locator(".message.outbound .turn").first().textContent();
    expect(turn).toMatch(/offline\//);
    expect(turn).toMatch(/\d+ ms/);
    expect(await transcript.locator(".message.inbound").first().textContent()).toContain("Hello, what can you do?");
  });

  it("creates a tool and gives it to the agent", async () => {
    await open("/tools", "Tools");
    await page.getByRole("button", { name: "New tool" }).click();
    await page.getByLabel("Name", { exact: true }).fill("order_status");
    await page.getByLabel("What it does (the model reads this)").fill("Looks up an order by its number.");
    await page.getByLabel("URL template").fill("https://api.shop.example/orders/{order}");
    await page
      .getByLabel("Parameters (JSON Schema)")
      .fill('{"type":"object","properties":{"order":{"type":"string","description":"Order number"}},"required":["order"]}');
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "order_status" }).waitFor();
    await checkPanel("tools");
    // Edited in place: the form opens with the tool's fields, and a bad timeout is the API's field error.
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("heading", { name: "Edit order_status" }).waitFor();
    await page.getByLabel("What it does (the model reads this)").fill("Looks up an order and its delivery date by its number.");
    await page.getByLabel("Timeout (ms)").fill("0");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByLabel("Timeout (ms)").and(page.locator('[aria-invalid="true"]')).waitFor();
    await page.getByLabel("Timeout (ms)").fill("5000");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Looks up an order and its delivery date by its number.").waitFor();

    await open(`/agents/${agentId}`, "Customer support");
    await page.getByRole("checkbox", { name: "order_status" }).check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Saved as version 4.").waitFor();
  });

  it("edits the model policy: candidates in fallback order and a rule, with the API's error next to the rule", async () => {
    await open(`/agents/${agentId}`, "Customer support");
    await page.getByLabel("This agent has its own model policy").check();
    const candidates = page.locator("ol.candidates > li");
    await candidates.nth(0).getByLabel("Model provider").selectOption("offline");
    await candidates.nth(0).getByLabel("Model", { exact: true }).fill("offline-echo-1");
    await page.getByRole("button", { name: "Add a model" }).click();
    await candidates.nth(1).getByLabel("Model provider").selectOption("openai");
    await candidates.nth(1).getByLabel("Model", { exact: true }).fill("gpt-4o-mini");
    await page.getByRole("button", { name: "Add a rule" }).click();
    const rule = page.getByRole("group", { name: "Rule 1" });
    await rule.getByLabel("Name", { exact: true }).fill("Long web chats");
    await rule.getByRole("checkbox", { name: "webchat" }).check();
    await rule.getByLabel("From messages").fill("20");
    // A rule that names no model is refused by the API, and the error shows on the rule's model list.
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await rule.locator('[data-field="modelPolicy.rules.0.use"]').waitFor();
    await rule.getByRole("checkbox", { name: "openai:gpt-4o-mini" }).check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Saved as version 5.").waitFor();
    // Saved edits are a draft: customers keep v3 (the rollback) until the draft is published.
    const status = page.getByTestId("publish-status");
    expect(await status.textContent()).toContain("The draft is v5; customers get v3 until you publish.");
    await checkPanel("model-policy");
    await page.getByRole("button", { name: "Publish v5" }).click();
    await status.getByText("v5 is live").waitFor();
    const saved = await fetch(`${stack.edge.url}/v1/agents/${agentId}`, {
      headers: {
        authorization: `Bearer ${await page.evaluate<string>('JSON.parse(sessionStorage.getItem("console.session")).accessToken')}`,
      },
    });
    expect(((await saved.json()) as { modelPolicy: unknown }).modelPolicy).toEqual({
      candidates: [
        { provider: "offline", model: "offline-echo-1" },
        { provider: "openai", model: "gpt-4o-mini" },
      ],
      rules: [
        { name: "Long web chats", when: { channels: ["webchat"], minMessages: 20 }, use: [{ provider: "openai", model: "gpt-4o-mini" }] },
      ],
    });
  });

  it("runs a test suite against the draft, shows each failure, and lists a broken suite's problems by line", async () => {
    const tests = page.getByRole("region", { name: "Tests" });
    await tests
      .getByLabel("Test suite (YAML or JSON)")
      .fill(
        "name: Console suite\ncases:\n  - name: echoes\n    turns:\n      - user: hello\n        expect: { contains: [You said] }\n" +
          "  - name: says goodbye\n    turns:\n      - user: bye\n        expect: { contains: [Goodbye] }\n",
      );
    await tests.getByRole("button", { name: "Run the suite" }).click();
    const run = tests.getByTestId("test-run");
    await run.getByText('“bye”: reply does not contain "Goodbye"').waitFor({ timeout: 30_000 });
    expect(await run.textContent()).toContain("1 passed, 1 failed");
    await tests.locator(".badge", { hasText: "Failed" }).first().waitFor();
    // The same suite against the published version, then side by side with the first run.
    await tests.getByLabel("Run against").selectOption("published");
    await tests.getByRole("button", { name: "Run the suite" }).click();
    await expect.poll(() => tests.locator("tbody tr .badge", { hasText: "Failed" }).count(), { timeout: 30_000 }).toBe(2);
    await tests.getByLabel("Compare with an earlier run").selectOption({ index: 1 });
    const comparison = tests.getByTestId("test-comparison");
    await comparison.waitFor();
    expect(await comparison.locator("tr", { hasText: "says goodbye" }).textContent()).toContain("✗✗");
    await checkPanel("agent-tests");

    await tests.getByLabel("Test suite (YAML or JSON)").fill("name: x\ncases:\n  - name: y\n    channel: fax\n    turns: [{ user: hi }]\n");
    await tests.getByRole("button", { name: "Run the suite" }).click();
    await tests.getByTestId("suite-issues").getByText("4:14 cases.0.channel", { exact: false }).waitFor();
  });

  it("uploads a document and shows its ingestion until it is ready", async () => {
    await open("/knowledge", "Knowledge");
    await page.getByLabel("New knowledge base").fill("Help centre");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "Help centre" }).waitFor();
    await page.getByLabel("Upload a document").setInputFiles({
      name: "shipping.md",
      mimeType: "text/markdown",
      buffer: Buffer.from("# Shipping\n\nOrders to Madeira ship every Tuesday.\n\nReturns are free within 30 days.\n"),
    });
    const row = page.locator("tr", { hasText: "shipping.md" });
    await row.locator('[data-status="ready"], .badge', { hasText: "Ready" }).waitFor({ timeout: 60_000 });
    expect(Number(await row.locator("td").nth(2).textContent())).toBeGreaterThan(0);
    // The retrieval test box: the chunk a turn would get, with its source.
    const base = page.getByRole("region", { name: "Help centre" });
    await base.getByLabel("Try a question").fill("When do orders to Madeira ship?");
    await base.getByRole("button", { name: "Retrieve" }).click();
    const hits = base.getByRole("list", { name: "Retrieved chunks, best first" });
    await hits.getByText("Orders to Madeira ship every Tuesday.").waitFor();
    expect(await hits.locator("li").first().textContent()).toContain("shipping.md");
    await checkPanel("knowledge");
  });

  it("shows the playground's conversation in the inbox, where a person takes over and replies", async () => {
    await open("/inbox", "Inbox");
    await page.locator(".conversations a").first().click();
    await page.getByText("Hello, what can you do?").waitFor();
    // One call turns the conversation into a test case for the agent's suite.
    await page.getByRole("button", { name: "Make a test case" }).click();
    await page.getByTestId("test-case-yaml").waitFor();
    expect(await page.getByTestId("test-case-yaml").inputValue()).toContain("- user: Hello, what can you do?");
    await page.getByRole("button", { name: "Take over" }).click();
    await page.getByRole("button", { name: "Hand back to the agent" }).waitFor();
    await page.getByLabel("Your reply").fill("Hi, Ana from the bakery here.");
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator(".message.outbound", { hasText: "Ana from the bakery" }).waitFor();
    await checkPanel("inbox");
  });

  it("charts the turn in analytics", async () => {
    await open("/analytics", "Analytics");
    const summary = page.getByTestId("analytics-summary");
    await expect
      .poll(
        async () => {
          await page.reload();
          await summary.waitFor();
          return summary.locator(".stat", { hasText: "Replies" }).locator("dd").textContent();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .not.toBe("0");
    // The charts come with the time series, which may answer after the summary.
    await page.locator(".chart canvas").nth(2).waitFor();
    expect(await page.locator(".chart canvas").count()).toBe(3);
    await checkPanel("analytics");
  });

  it("lists integrations, channels, users, API keys, the audit log, the plan and settings", async () => {
    await open("/integrations", "Integrations");
    await page.locator("article.integration").first().waitFor();
    expect(await page.locator("article.integration").count()).toBe(3);
    await checkPanel("integrations");
    await open("/channels", "Channels");
    await page.getByText("Web chat", { exact: false }).first().waitFor();
    await checkPanel("channels");
    await open("/api-keys", "API keys");
    await checkPanel("api-keys");
    await open("/audit", "Audit log");
    await page.getByText("tenant.sign_up").waitFor();
    await checkPanel("audit");
    // A new tenant is on the free plan: its limits against what it uses, and the plans there are.
    await open("/billing", "Plan and billing");
    await page.getByRole("heading", { name: "Free plan" }).waitFor();
    expect(await page.locator("[data-testid=billing-usage] tbody tr").count()).toBe(6);
    expect(await page.locator("[data-testid=billing-usage] tbody tr", { hasText: "Agents" }).locator("td").nth(2).textContent()).toBe("1");
    await page.locator("[data-testid=plan-business]").waitFor();
    await checkPanel("billing");
    await open("/settings", "Settings");
    // The tenant's default model policy is edited with the agents' editor, and saves.
    const fallback = page.locator("ol.candidates > li").first();
    expect(await fallback.getByLabel("Model", { exact: true }).inputValue()).not.toBe("");
    // A retention policy: messages anonymised after 90 days.
    await page.getByLabel("Keep messages for (days)").fill("90");
    await page.getByLabel("After that").selectOption("anonymise");
    await page.getByRole("button", { name: "Save", exact: true }).first().click();
    await page.getByText("Saved.").waitFor();
    await checkPanel("settings");
    await page.reload();
    await page.getByLabel("Keep messages for (days)").waitFor();
    expect(await page.getByLabel("Keep messages for (days)").inputValue()).toBe("90");
    expect(await page.getByLabel("After that").inputValue()).toBe("anonymise");

    // Deleting the tenant: the name must be typed; it stops, shows its purge date, and is restored.
    const confirm = page.getByLabel(/^Type “.+” to confirm$/);
    await confirm.fill("not the name");
    await page.getByRole("button", { name: "Delete the tenant" }).click();
    await page.locator('[data-code="CONFIRMATION_MISMATCH"]').first().waitFor();
    const label = await page.locator("label", { hasText: /^Type “/ }).textContent();
    await confirm.fill(/“(.+)”/.exec(label ?? "")![1]!);
    await page.getByRole("button", { name: "Delete the tenant" }).click();
    await page.getByText("This tenant is being deleted.").waitFor();
    await page.getByRole("button", { name: "Restore the tenant" }).click();
    await page.getByRole("button", { name: "Delete the tenant" }).waitFor();
  });

  it("invites a viewer; a viewer signed in sees the agent but cannot change it", async () => {
    await open("/users", "Users and roles");
    await page.getByLabel("Email", { exact: true }).fill("viewer@nandu.example");
    await page.getByLabel("Role", { exact: true }).selectOption({ label: "viewer" });
    await page.getByRole("button", { name: "Invite" }).click();
    await page.locator("tr", { hasText: "viewer@nandu.example" }).getByText("Pending").waitFor();
    const link = await page.getByTestId("accept-url").textContent();
    expect(link).toMatch(/\/console\/#\/accept\?token=inv_/);
    await checkPanel("users");

    // The viewer opens the invitation link in their own browser and joins with their name.
    const viewerContext = await browser.newContext({ locale: "en-GB" });
    const viewerPage = await viewerContext.newPage();
    await viewerPage.goto(link!, { waitUntil: "commit" });
    await viewerPage.getByRole("heading", { level: 1, name: "Join your team" }).waitFor();
    expect(viewerPage.url()).not.toContain("inv_"); // the one-time token left the address bar
    await viewerPage.getByLabel("Your name").fill("Vera Viewer");
    await viewerPage.getByRole("button", { name: "Join" }).click();
    await viewerPage.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
    // The link worked once: opened again, it is refused.
    const again = await fetch(`${stack.edge.url}/v1/invitation-acceptances`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: decodeURIComponent(link!.split("token=")[1]!), name: "Mallory" }),
    });
    expect(again.status).toBe(401);
    await page.reload();
    await page.locator("tr", { hasText: "viewer@nandu.example" }).getByText("Accepted").waitFor();
    expect(await viewerPage.getByTestId("role").textContent()).toContain("viewer");
    expect(await viewerPage.getByRole("button", { name: "New agent" }).count()).toBe(0);
    expect(await viewerPage.getByRole("link", { name: "Users and roles" }).count()).toBe(0);
    await viewerPage.getByRole("link", { name: "Customer support" }).click();
    await viewerPage.getByText("Your role can view this but not change it.").waitFor();
    expect(await viewerPage.getByLabel("Temperature").isDisabled()).toBe(true);
    const token = await viewerPage.evaluate<string>('JSON.parse(sessionStorage.getItem("console.session")).accessToken');
    const refused = await fetch(`${stack.edge.url}/v1/agents/${agentId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ temperature: 1 }),
    });
    expect(refused.status).toBe(403);
    await viewerContext.close();
  });

  it("speaks Spanish when asked, and works at 375 px through the menu", async () => {
    await open("/agents", "Agents");
    await page.getByLabel("Language").selectOption("es");
    await page.getByRole("heading", { level: 1, name: "Agentes" }).waitFor();
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole("button", { name: "Menú" }).click();
    await page.getByRole("link", { name: "Bandeja" }).click();
    await page.getByRole("heading", { level: 1, name: "Bandeja" }).waitFor();
    await page.screenshot({ path: join(OUT, "inbox-es-375.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByLabel("Idioma").selectOption("en");
  });
});
