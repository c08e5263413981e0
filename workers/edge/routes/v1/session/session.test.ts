import { describe, expect, it } from "vitest";
import { newApp } from "../../../app";

const env = {
  WEBHOOK_SIGNING_KEY: "k".repeat(44),
  SQS_ACCESS_KEY_ID: "test",
  SQS_SECRET_ACCESS_KEY: "test",
  INBOUND_QUEUE_URL: "http://127.0.0.1:1/000000000000/inbound.fifo",
  LOG_LEVEL: "error",
};

const post = (path: string, body: unknown, vars: Record<string, string> = {}) =>
  newApp().fetch(
    new Request(`http://edge${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    {
      ...env,
      ...vars,
    },
  );

describe("sign-in without Auth0", () => {
  it("does not exist unless LOCAL_SIGN_IN=on", async () => {
    for (const path of ["/v1/session", "/v1/signup", "/v1/invitation-acceptances"]) {
      const response = await post(path, { token: "sl_x" });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    }
  });

  it("says how the console signs in: links locally, API keys only when neither is configured", async () => {
    const config = async (vars: Record<string, string>) =>
      (await newApp().fetch(new Request("http://edge/v1/sign-in-config"), { ...env, ...vars })).json();
    expect(await config({ LOCAL_SIGN_IN: "on" })).toEqual({ method: "local", signUp: true });
    expect(await config({})).toEqual({ method: "api_key", signUp: false });
    // Auth0 without the Management API: the console signs in through Auth0, but nobody can sign up.
    const auth0 = { AUTH0_ISSUER: "https://acme.eu.auth0.com/", AUTH0_AUDIENCE: "https://api", AUTH0_CONSOLE_CLIENT_ID: "spa" };
    expect(await config(auth0)).toMatchObject({
      method: "auth0",
      signUp: false,
      auth0: { domain: "https://acme.eu.auth0.com", clientId: "spa" },
    });
    expect((await post("/v1/signup", { tenantName: "Acme" }, auth0)).status).toBe(404);
  });

  it("refuses a Management API client without the console's application", async () => {
    const response = await post(
      "/v1/signup",
      { tenantName: "Acme" },
      {
        AUTH0_ISSUER: "https://acme.eu.auth0.com/",
        AUTH0_AUDIENCE: "https://api",
        AUTH0_MANAGEMENT_CLIENT_ID: "m2m",
        AUTH0_MANAGEMENT_CLIENT_SECRET: "s",
      },
    );
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("BAD_ENVIRONMENT");
  });

  it("cannot be switched on beside Auth0: the environment is refused", async () => {
    const response = await post(
      "/v1/session",
      { token: "sl_x" },
      { LOCAL_SIGN_IN: "on", AUTH0_ISSUER: "https://tenant.auth0.com/", AUTH0_AUDIENCE: "https://api" },
    );
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("BAD_ENVIRONMENT");
  });
});
