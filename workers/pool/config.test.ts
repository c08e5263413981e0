import { describe, expect, it } from "vitest";
import { loadPoolConfig } from "./config";

const base = {
  DATABASE_URL: "postgres://agent_app@db.internal:5432/app",
  INBOUND_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/inbound.fifo",
  SECRETS_KEYRING: "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
};

describe("loadPoolConfig", () => {
  it("takes SQS credentials from the default AWS chain (the ECS task role) when none are given", () => {
    const config = loadPoolConfig(base);
    expect(config.SQS_ACCESS_KEY_ID).toBeUndefined();
    expect(config.SQS_SECRET_ACCESS_KEY).toBeUndefined();
  });

  it("takes static SQS credentials when both are given", () => {
    const config = loadPoolConfig({ ...base, SQS_ACCESS_KEY_ID: "AKIAEXAMPLE", SQS_SECRET_ACCESS_KEY: "secret" });
    expect(config.SQS_ACCESS_KEY_ID).toBe("AKIAEXAMPLE");
  });

  it("refuses one SQS credential without the other, naming both", () => {
    expect(() => loadPoolConfig({ ...base, SQS_ACCESS_KEY_ID: "AKIAEXAMPLE" })).toThrow(
      /BAD_ENVIRONMENT.*\n.*SQS_ACCESS_KEY_ID and SQS_SECRET_ACCESS_KEY/,
    );
    expect(() => loadPoolConfig({ ...base, SQS_SECRET_ACCESS_KEY: "secret" })).toThrow(/set both, or neither/);
  });

  it("refuses a missing database URL with the variable's name and never its neighbours' values", () => {
    const { DATABASE_URL: _omitted, ...rest } = base;
    expect(() => loadPoolConfig(rest)).toThrow(/DATABASE_URL/);
    expect(() => loadPoolConfig(rest)).not.toThrow(/AAAAAAAA/);
  });
});
