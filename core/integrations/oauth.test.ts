import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { integrationConfig } from "./config";
import { errorFromResponse, retryAfterSeconds } from "./http";
import { authorizationUrl, pkcePair, signState, STATE_TTL_SECONDS, verifyState } from "./oauth";
import { INTEGRATION_TOOL_NAMES, integrationTool } from "./registry";
import { allowedInstanceUrl } from "./salesforce";
import { salesforce } from "./salesforce";

const KEY = "k".repeat(48);
const claims = { tenantId: "00000000-0000-4000-8000-000000000001", actorId: "user:u1", provider: "hubspot" as const, nonce: "n-1" };

describe("OAuth state", () => {
  it("round-trips the tenant, actor, provider and nonce", async () => {
    const state = await signState(KEY, claims);
    expect(await verifyState(KEY, state, "hubspot")).toEqual({ ok: true, claims });
  });

  it("refuses another key's signature, another provider, a missing and an oversized state", async () => {
    const state = await signState(KEY, claims);
    expect(await verifyState("z".repeat(48), state, "hubspot")).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyState(KEY, state, "stripe")).toEqual({ ok: false, reason: "wrong_provider" });
    expect(await verifyState(KEY, undefined, "hubspot")).toEqual({ ok: false, reason: "missing" });
    expect(await verifyState(KEY, "x".repeat(3000), "hubspot")).toEqual({ ok: false, reason: "invalid" });
  });

  it("expires after ten minutes, with no clock tolerance", async () => {
    const issued = 1_800_000_000;
    const state = await signState(KEY, claims, issued);
    expect((await verifyState(KEY, state, "hubspot", issued + STATE_TTL_SECONDS - 1)).ok).toBe(true);
    expect(await verifyState(KEY, state, "hubspot", issued + STATE_TTL_SECONDS)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses an unsigned (alg none) state", async () => {
    const payload = Buffer.from(
      JSON.stringify({ tid: claims.tenantId, act: claims.actorId, prv: "hubspot", jti: "n", aud: "integration:hubspot", exp: 9e9 }),
    ).toString("base64url");
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`;
    expect((await verifyState(KEY, none, "hubspot")).ok).toBe(false);
    const otherAlg = await new SignJWT({ tid: claims.tenantId, act: "user:u1", prv: "hubspot" })
      .setProtectedHeader({ alg: "HS512" })
      .setJti("n")
      .setAudience("integration:hubspot")
      .setIssuer("agent-platform/integrations")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(KEY));
    expect((await verifyState(KEY, otherAlg, "hubspot")).ok).toBe(false);
  });
});

describe("authorization URL", () => {
  it("carries the client, redirect, scopes, state and an S256 challenge", async () => {
    const config = integrationConfig({ SALESFORCE_LOGIN_URL: "https://login.salesforce.com" });
    const { verifier, challenge } = await pkcePair();
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const url = new URL(
      authorizationUrl(salesforce, config, {
        clientId: "cid",
        redirectUri: "https://api.example.com/cb",
        state: "s",
        codeChallenge: challenge,
      }),
    );
    expect(url.origin + url.pathname).toBe("https://login.salesforce.com/services/oauth2/authorize");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: "cid",
      redirect_uri: "https://api.example.com/cb",
      scope: "api refresh_token",
      state: "s",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
  });
});

describe("provider errors", () => {
  it("reads each provider's error shape, flags refused credentials and honours Retry-After", () => {
    expect(errorFromResponse("HubSpot", 401, null, { status: "error", message: "expired" })).toMatchObject({
      message: "HubSpot refused the credentials: expired",
      options: { auth: true },
    });
    expect(errorFromResponse("Salesforce", 400, null, [{ message: "bad field", errorCode: "INVALID_FIELD" }]).message).toBe(
      "Salesforce answered HTTP 400: bad field",
    );
    expect(errorFromResponse("Stripe", 429, "7", { error: { message: "Too many" } })).toMatchObject({
      status: 429,
      options: { retryAfterSeconds: 7 },
    });
    expect(retryAfterSeconds(null)).toBe(1);
    expect(retryAfterSeconds(new Date(Date.now() + 3_000).toUTCString())).toBeGreaterThanOrEqual(2);
  });
});

describe("registry", () => {
  it("names every tool <provider>.<tool> and resolves it back", () => {
    expect(INTEGRATION_TOOL_NAMES).toContain("hubspot.find_contact");
    expect(INTEGRATION_TOOL_NAMES).toContain("salesforce.create_case");
    expect(INTEGRATION_TOOL_NAMES).toContain("stripe.create_payment_link");
    expect(integrationTool("stripe.refund_payment")?.tool.requiresApproval).toBe(true);
    expect(integrationTool("stripe.nope")).toBeUndefined();
    expect(integrationTool("zendesk.find")).toBeUndefined();
  });
});

describe("Salesforce instance URLs", () => {
  const config = integrationConfig({});
  it("sends tokens only to Salesforce hosts over HTTPS", () => {
    expect(allowedInstanceUrl("https://acme.my.salesforce.com", config)).toBe(true);
    expect(allowedInstanceUrl("https://acme--dev.sandbox.my.salesforce.com", config)).toBe(true);
    expect(allowedInstanceUrl("http://acme.my.salesforce.com", config)).toBe(false);
    expect(allowedInstanceUrl("https://salesforce.com.evil.example", config)).toBe(false);
    expect(allowedInstanceUrl("https://evil.example/?x=.salesforce.com", config)).toBe(false);
  });
});
