import { Validator } from "@seriousme/openapi-schema-validator";
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

/** Routes under /v1 that take no bearer token: the OAuth callback (its signed state names the tenant). */
const PUBLIC_OPERATIONS = ["GET /v1/integrations/{provider}/callback"];

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
        const permission = operation["x-permission"];
        expect(permission === null || isPermission(permission), `${method} ${path}`).toBe(true);
        expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(operation.responses as object), `${method} ${path}`).toEqual(
          expect.arrayContaining(["401", "403", "404", "500"]),
        );
      }
    }
  });

  it("serves a reference page at /v1/docs without credentials", async () => {
    const response = await newApp().fetch(new Request("http://edge/v1/docs"), env);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("/v1/openapi.json");
  });
});
