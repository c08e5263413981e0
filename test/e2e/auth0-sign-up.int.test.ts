import { sql } from "drizzle-orm";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApiHarness, type AdminApiHarness } from "../support/admin-api";
import { launchBrowser } from "../support/browser";

/**
 * Self-service sign-up and invitations with Auth0: the edge under workerd calls the Management API
 * through the official `auth0` SDK, pointed at the loopback fake (AUTH0_MANAGEMENT_BASE_URL), and
 * the console in Chromium signs in through the fake's Universal Login with `@auth0/auth0-spa-js`.
 */
let h: AdminApiHarness;

beforeAll(async () => {
  h = await startAdminApiHarness((auth0) => ({
    AUTH0_CONSOLE_CLIENT_ID: auth0.consoleClientId,
    AUTH0_MANAGEMENT_CLIENT_ID: auth0.management.clientId,
    AUTH0_MANAGEMENT_CLIENT_SECRET: auth0.management.clientSecret,
    AUTH0_MANAGEMENT_BASE_URL: auth0.baseUrl,
    AUTH0_CONNECTION_ID: "con_passwords",
  }));
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

/** The fields these tests read from the answers (sign-up, lists, errors). */
interface Answer {
  [field: string]: unknown;
  id: string;
  slug: string;
  tenantId: string;
  userId: string;
  organizationId: string;
  data: Array<{ id: string; name: string; [field: string]: unknown }>;
  error: { code: string };
}
const json = async (response: Response) => (await response.json()) as Answer;

/** An Auth0 access token as Universal Login gives it before the user belongs to any organisation. */
function userToken(sub: string, extra: Record<string, unknown> = {}) {
  return h.auth0.mint({ claims: { sub, org_id: undefined, ...extra } });
}

async function tenantOf(orgId: string) {
  const { rows } = await h.admin.db.execute<{ id: string; name: string; slug: string }>(
    sql`select id, name, slug from tenants where auth0_org_id = ${orgId}`,
  );
  return rows[0];
}

describe("sign-up with Auth0", () => {
  it("tells the console to sign in through Auth0, with sign-up open", async () => {
    const config = await json(await h.call("/v1/sign-in-config"));
    expect(config).toEqual({
      method: "auth0",
      signUp: true,
      auth0: { domain: h.auth0.baseUrl, clientId: h.auth0.consoleClientId, audience: h.auth0.audience, organizationClaim: "org_id" },
    });
    // The console's page may call Auth0's token endpoint, and nothing else off its origin.
    const page = await fetch(`${h.stack.edge.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain(`connect-src 'self' ${h.auth0.baseUrl};`);
    // The link-based routes of deployments without Auth0 do not exist here.
    expect((await h.call("/v1/session", { method: "POST", body: { token: "sl_x" } })).status).toBe(404);
    expect((await h.call("/v1/invitation-acceptances", { method: "POST", body: { token: "inv_x", name: "x" } })).status).toBe(404);
  });

  it("refuses a missing or forged token", async () => {
    expect((await h.call("/v1/signup", { method: "POST", body: { tenantName: "Nobody" } })).status).toBe(401);
    const stranger = await h.auth0.strangerKey();
    const forged = await h.auth0.mint({ key: stranger, claims: { sub: "auth0|forger", org_id: undefined } });
    const refused = await h.call("/v1/signup", { method: "POST", token: forged, body: { tenantName: "Forged" } });
    expect(refused.status).toBe(401);
    expect(h.auth0.organizations.size).toBe(0);
  });

  it("requires a verified email (asked of Auth0, not read from the token), and resends the verification", async () => {
    h.auth0.signInAs({ sub: "auth0|ana", email: "ana@tienda.example", emailVerified: false, name: "Ana" });
    // The token claims a verified email; Auth0 says otherwise, and Auth0 is what counts.
    const token = await userToken("auth0|ana", { email: "ana@tienda.example", email_verified: true });
    const refused = await h.call("/v1/signup", { method: "POST", token, body: { tenantName: "Tienda Ana" } });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error).toMatchObject({ code: "FORBIDDEN", details: { reason: "EMAIL_NOT_VERIFIED" } });
    expect(h.auth0.verificationEmails).toEqual(["auth0|ana"]);
    expect(h.auth0.organizations.size).toBe(0);
    expect(await tenantOf("org_none")).toBeUndefined();
  });

  it("creates the organisation, the membership and the tenant with the user as admin", async () => {
    h.auth0.verifyEmail("auth0|ana");
    const token = await userToken("auth0|ana");
    const created = await h.call("/v1/signup", { method: "POST", token, body: { tenantName: "Tienda Ana" } });
    expect(created.status).toBe(201);
    const body = await json(created);
    expect(body).toMatchObject({ slug: "tienda-ana", organizationId: expect.stringMatching(/^org_/) });
    expect(body.signInUrl).toBeUndefined();

    const org = h.auth0.organizations.get(body.organizationId)!;
    expect(org).toMatchObject({ name: "tienda-ana", displayName: "Tienda Ana", enabledConnections: ["con_passwords"] });
    expect([...org.members]).toEqual(["auth0|ana"]);
    expect(await tenantOf(org.id)).toMatchObject({ id: body.tenantId, name: "Tienda Ana" });

    // Signed in again through the organisation, the user is the tenant's admin.
    const member = await h.auth0.mint({ claims: { sub: "auth0|ana", org_id: org.id, email: "ana@tienda.example", email_verified: true } });
    const me = await json(await h.call("/v1/me", { token: member }));
    expect(me).toMatchObject({ tenantId: body.tenantId, role: { name: "admin" } });
    const audit = await json(await h.call("/v1/audit-log?resourceType=tenant", { token: member }));
    expect(audit.data[0]).toMatchObject({ action: "tenant.sign_up", actor: { type: "user", id: body.userId } });
  });

  it("gives a second tenant of the same name another organisation name", async () => {
    h.auth0.signInAs({ sub: "auth0|otra", email: "otra@example.com", emailVerified: true });
    const created = await json(
      await h.call("/v1/signup", { method: "POST", token: await userToken("auth0|otra"), body: { tenantName: "Tienda Ana" } }),
    );
    expect(created.slug).toMatch(/^tienda-ana-/);
    expect(h.auth0.organizations.get(created.organizationId)!.name).toMatch(/^tienda-ana-[a-z0-9-]+$/);
  });

  it("leaves nothing behind when Auth0 fails half-way, and answers 503", async () => {
    h.auth0.signInAs({ sub: "auth0|luis", email: "luis@example.com", emailVerified: true });
    const before = h.auth0.organizations.size;
    // Adding the member fails on every attempt the SDK makes (it retries twice).
    h.auth0.failManagement(503, { count: 3, path: /\/members$/ });
    const failed = await h.call("/v1/signup", { method: "POST", token: await userToken("auth0|luis"), body: { tenantName: "Luis Bikes" } });
    expect(failed.status).toBe(503);
    expect((await json(failed)).error.code).toBe("AUTH0_UNAVAILABLE");
    expect(h.auth0.organizations.size).toBe(before); // the organisation made first was deleted again
    const { rows } = await h.admin.db.execute(sql`select 1 from tenants where name = 'Luis Bikes'`);
    expect(rows).toHaveLength(0);
    // Auth0 is back: the same request succeeds.
    const retried = await h.call("/v1/signup", {
      method: "POST",
      token: await userToken("auth0|luis"),
      body: { tenantName: "Luis Bikes" },
    });
    expect(retried.status).toBe(201);
  });
});

describe("invitations with Auth0", () => {
  it("are emailed by Auth0, joined on the invitee's first sign-in, and withdrawn there too", async () => {
    h.auth0.signInAs({ sub: "auth0|owner", email: "owner@cafe.example", emailVerified: true, name: "Olga Owner" });
    const created = await json(
      await h.call("/v1/signup", { method: "POST", token: await userToken("auth0|owner"), body: { tenantName: "Cafe Olga" } }),
    );
    const owner = await h.auth0.mint({ claims: { sub: "auth0|owner", org_id: created.organizationId } });
    const roles = await json(await h.call("/v1/roles", { token: owner }));
    const viewer = roles.data.find((role) => role.name === "viewer")!;

    const invited = await h.call("/v1/invitations", {
      method: "POST",
      token: owner,
      body: { email: "Pablo@Cafe.example", roleId: viewer.id },
    });
    expect(invited.status).toBe(201);
    const invitation = await json(invited);
    expect(invitation).toMatchObject({ email: "pablo@cafe.example", status: "pending", emailed: true });
    expect(invitation.acceptUrl).toBeUndefined();
    const sent = [...h.auth0.invitations.values()].find((i) => i.email === "pablo@cafe.example")!;
    expect(sent).toMatchObject({ orgId: created.organizationId, clientId: h.auth0.consoleClientId, inviterName: "Olga Owner" });
    expect(sent.ttlSec).toBeGreaterThan(13 * 86_400);

    // Pablo accepts in Auth0 and signs in through the organisation with that verified email.
    const pablo = await h.auth0.mint({
      claims: { sub: "auth0|pablo", org_id: created.organizationId, email: "pablo@cafe.example", email_verified: true },
    });
    expect(await json(await h.call("/v1/me", { token: pablo }))).toMatchObject({ role: { name: "viewer" } });
    const list = await json(await h.call("/v1/invitations", { token: owner }));
    expect(list.data[0]).toMatchObject({ id: invitation.id, status: "accepted", emailed: true });

    // A new tenant is on the free plan: two seats, both taken now.
    const third = { method: "POST", token: owner, body: { email: "quim@cafe.example", roleId: viewer.id } };
    const refused = await h.call("/v1/invitations", third);
    expect(refused.status).toBe(402);
    expect(await json(refused)).toMatchObject({ error: { code: "PLAN_LIMIT_REACHED", details: { limit: "seats", allowed: 2, used: 2 } } });
    expect([...h.auth0.invitations.values()].some((i) => i.email === "quim@cafe.example")).toBe(false);
    await h.admin.db.execute(sql`update tenants set plan = 'pro' where id = ${created.tenantId}`);

    // A withdrawn invitation is withdrawn at Auth0 as well.
    const second = await json(await h.call("/v1/invitations", third));
    const secondAtAuth0 = [...h.auth0.invitations.values()].find((i) => i.email === "quim@cafe.example")!;
    expect((await h.call(`/v1/invitations/${second.id}`, { method: "DELETE", token: owner })).status).toBe(204);
    expect(h.auth0.invitations.has(secondAtAuth0.id)).toBe(false);
  });

  it("records nothing when Auth0 cannot send the invitation", async () => {
    h.auth0.signInAs({ sub: "auth0|rosa", email: "rosa@example.com", emailVerified: true });
    const created = await json(
      await h.call("/v1/signup", { method: "POST", token: await userToken("auth0|rosa"), body: { tenantName: "Rosa Flores" } }),
    );
    const owner = await h.auth0.mint({ claims: { sub: "auth0|rosa", org_id: created.organizationId } });
    const roles = await json(await h.call("/v1/roles", { token: owner }));
    const editor = roles.data.find((role) => role.name === "editor")!;
    h.auth0.failManagement(503, { count: 3, path: /\/invitations$/ });
    const failed = await h.call("/v1/invitations", { method: "POST", token: owner, body: { email: "sol@example.com", roleId: editor.id } });
    expect(failed.status).toBe(503);
    expect((await json(await h.call("/v1/invitations", { token: owner }))).data).toEqual([]);
  });
});

describe("the console with Auth0", () => {
  let browser: Browser;
  let shop: { organizationId: string };

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("signs up through Universal Login with PKCE, names the workspace, and signs in to its organisation; tokens stay in memory", async () => {
    const wendy = { sub: "auth0|wendy", email: "wendy@shop.example", emailVerified: true, name: "Wendy" };
    h.auth0.signInAs(wendy);
    const context = await browser.newContext({ locale: "en-GB" });
    const page = await context.newPage();
    await page.goto(`${h.stack.edge.url}/console/#/sign-up`);
    await page.getByRole("button", { name: "Create an account" }).click();
    // Back from Auth0's sign-up screen, someone with no tenant yet names their workspace.
    await page.getByLabel("Organisation name").fill("Web Shop");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await page.getByRole("heading", { level: 1, name: "Get started" }).waitFor();
    expect(await page.getByTestId("role").textContent()).toContain("admin");

    const org = [...h.auth0.organizations.values()].find((o) => o.displayName === "Web Shop")!;
    shop = { organizationId: org.id };
    const [signUp, intoOrganisation] = h.auth0.authorizeRequests.slice(-2);
    expect(signUp!.get("screen_hint")).toBe("signup");
    expect(signUp!.get("code_challenge_method")).toBe("S256");
    expect(signUp!.get("audience")).toBe(h.auth0.audience);
    expect(intoOrganisation!.get("organization")).toBe(org.id);
    expect(page.url()).not.toMatch(/code=|state=/); // the code left the address bar
    // No token in any storage: the access token lives in memory only.
    const stored = await page.evaluate<string>(
      "JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage), document.cookie])",
    );
    expect(stored).not.toMatch(/eyJ/);

    // Signing out ends the Auth0 session too; signing in again goes straight to the same organisation.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    h.auth0.signInAs(wendy);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
    expect(h.auth0.authorizeRequests.at(-1)!.get("organization")).toBe(org.id);
    await context.close();
  });

  it("says an unverified email must be verified first, and creates nothing", async () => {
    h.auth0.signInAs({ sub: "auth0|una", email: "una@example.com", emailVerified: false });
    const before = h.auth0.organizations.size;
    const context = await browser.newContext({ locale: "en-GB" });
    const page = await context.newPage();
    await page.goto(`${h.stack.edge.url}/console/#/sign-up`);
    await page.getByRole("button", { name: "Create an account" }).click();
    await page.getByLabel("Organisation name").fill("Una Cosa");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await page.getByText("Verify your email first").waitFor();
    expect(h.auth0.organizations.size).toBe(before);
    expect(h.auth0.verificationEmails).toContain("auth0|una");
    await context.close();
  });

  it("opens an Auth0 invitation link, accepts it at Auth0, and joins with the invitation's role", async () => {
    const owner = await h.auth0.mint({ claims: { sub: "auth0|wendy", org_id: shop.organizationId } });
    const roles = await json(await h.call("/v1/roles", { token: owner }));
    const editor = roles.data.find((role) => role.name === "editor")!;
    await h.call("/v1/invitations", { method: "POST", token: owner, body: { email: "ivan@shop.example", roleId: editor.id } });
    const sent = [...h.auth0.invitations.values()].find((i) => i.email === "ivan@shop.example")!;

    h.auth0.signInAs({ sub: "auth0|ivan", email: "ivan@shop.example", emailVerified: true, name: "Ivan" });
    const context = await browser.newContext({ locale: "en-GB" });
    const page = await context.newPage();
    // Where Auth0's invitation email points: the application's login route with invitation and organisation.
    await page.goto(`${h.stack.edge.url}/console/?invitation=${sent.id}&organization=${shop.organizationId}&organization_name=web-shop`);
    await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
    expect(await page.getByTestId("role").textContent()).toContain("editor");
    const accepted = h.auth0.authorizeRequests.at(-1)!;
    expect([accepted.get("invitation"), accepted.get("organization")]).toEqual([sent.id, shop.organizationId]);
    await context.close();
  });
});
