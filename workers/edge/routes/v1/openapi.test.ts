import { Validator } from "@seriousme/openapi-schema-validator";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { isPermission } from "../../../../core/access/permissions";
import { newApp } from "../../app";

const env = {
  WEBHOOK_SIGNING_KEY: "k".repeat(44),
  SQS_ACCESS_KEY_ID: "test",
  SQS_SECRET_ACCESS_KEY: "test",
  INBOUND_QUEUE_URL: "http://127.0.0.1:1/000000000000/inbound.fifo",
  LOG_LEVEL: "error",
};

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

async function fetchDocument() {
  const app = newApp();
  const response = await app.fetch(new Request("http://edge/v1/openapi.json"), env);
  expect(response.status).toBe(200);
  return { app, document: (await response.json()) as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> } };
}

/** Routes under /v1 that take no bearer token: the OAuth callback (its signed state names the tenant), and sign-in without Auth0. */
const PUBLIC_OPERATIONS = [
  "GET /v1/integrations/{provider}/callback",
  "POST /v1/session",
  "POST /v1/invitation-acceptances",
  "GET /v1/sign-in-config",
];
/** Sign-up takes an Auth0 token of someone who is no member yet, or nothing (without Auth0). */
const OPTIONAL_BEARER_OPERATIONS = ["POST /v1/signup"];

describe("/v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const { document } = await fetchDocument();
    expect(document.openapi).toBe("3.1.0");
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("lists every /v1 route the app serves, each with its permission and bearer security", async () => {
    const { app, document } = await fetchDocument();
    const served = new Set(
      app.routes
        .filter((r) => r.path.startsWith("/v1/") && METHODS.includes(r.method.toLowerCase() as (typeof METHODS)[number]))
        .filter((r) => !["/v1/openapi.json", "/v1/docs"].includes(r.path))
        .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations)
          .filter((m) => METHODS.includes(m as (typeof METHODS)[number]))
          .map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect(served.size).toBeGreaterThanOrEqual(18);
    expect([...documented].sort()).toEqual([...served].sort());
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (PUBLIC_OPERATIONS.includes(`${method.toUpperCase()} ${path}`)) {
          // Public by design: declared so in the document, with no bearer security.
          expect(operation.security, `${method} ${path}`).toEqual([]);
          continue;
        }
        if (OPTIONAL_BEARER_OPERATIONS.includes(`${method.toUpperCase()} ${path}`)) {
          expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }, {}]);
          continue;
        }
        const permission = operation["x-permission"];
        expect(permission === null || isPermission(permission), `${method} ${path}`).toBe(true);
        expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(operation.responses as object), `${method} ${path}`).toEqual(
          expect.arrayContaining(["401", "403", "404", "500"]),
        );
      }
    }
  });

  it("passes Redocly's recommended lint with 0 errors and 0 warnings (fit for generators and Bubble.io)", async () => {
    const { document } = await fetchDocument();
    const dir = await mkdtemp(join(tmpdir(), "openapi-lint-"));
    try {
      const file = join(dir, "openapi.json");
      await writeFile(file, JSON.stringify(document));
      const cli = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
      // Exit code 1 on problems: read the JSON report either way.
      const { stdout } = await promisify(execFile)(process.execPath, [cli, "lint", file, "--format=json"], {
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
      const report = JSON.parse(stdout) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string }[];
      };
      expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("names every operation with a unique operationId and this deployment in servers", async () => {
    const { document } = await fetchDocument();
    const ids = Object.values(document.paths).flatMap((operations) =>
      Object.entries(operations)
        .filter(([m]) => METHODS.includes(m as (typeof METHODS)[number]))
        .map(([, operation]) => operation.operationId as string),
    );
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect((document as unknown as { servers: unknown }).servers).toEqual([{ url: "http://edge", description: "This deployment" }]);
  });

  it("serves a reference page at /v1/docs without credentials", async () => {
    const response = await newApp().fetch(new Request("http://edge/v1/docs"), env);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("/v1/openapi.json");
  });
});
