import { describe, expect, it } from "vitest";
import { newApp } from "../app";

// A database URL nothing listens on: these requests are refused before any query is made.
const env = {
  WEBHOOK_SIGNING_KEY: "k".repeat(44),
  SQS_ACCESS_KEY_ID: "test",
  SQS_SECRET_ACCESS_KEY: "test",
  INBOUND_QUEUE_URL: "http://127.0.0.1:1/000000000000/inbound.fifo",
  DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
  LOG_LEVEL: "error",
};

const get = (headers: Record<string, string>, vars: Record<string, string> = {}) =>
  newApp().fetch(new Request("http://edge/v1/me", { headers }), { ...env, ...vars });

describe("authenticate()", () => {
  it("asks for credentials with a bare challenge when none are sent", async () => {
    const response = await get({});
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="agent-platform"');
    expect(await response.json()).toMatchObject({ error: { code: "UNAUTHORIZED", requestId: expect.any(String) } });
  });

  it("refuses malformed Authorization headers", async () => {
    for (const authorization of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", `Bearer ${"x".repeat(9000)}`]) {
      const response = await get({ authorization });
      expect(response.status, authorization.slice(0, 20)).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  it("refuses JWTs with a clear message when Auth0 is not configured", async () => {
    const response = await get({ authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln" });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/Auth0 sign-in is not configured/);
  });

  it("refuses an Auth0 issuer without an audience as a broken environment", async () => {
    const response = await get({}, { AUTH0_ISSUER: "https://acme.eu.auth0.com/" });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: "BAD_ENVIRONMENT" } });
  });
});
