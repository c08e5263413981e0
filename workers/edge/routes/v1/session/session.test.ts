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
    for (const path of ["/v1/session", "/v1/signup"]) {
      const response = await post(path, { token: "sl_x" });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    }
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
