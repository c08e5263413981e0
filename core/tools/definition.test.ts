import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkToolDefinition, createToolInput, InvalidToolError } from "./definition";
import { OAuthTokenCache, mapResponse } from "./execute";
import { OpenApiImportError, parseOpenApiDocument, toolsFromOpenApi } from "./openapi-import";

const base = {
  name: "t",
  description: "d",
  method: "GET" as const,
  parameterLocations: {},
  responseMapping: { maxBytes: 100 },
  timeoutMs: 1000,
  requiresApproval: false,
};

describe("checkToolDefinition", () => {
  it("places parameters: URL placeholders in the path, else query for GET and body for POST", () => {
    const parameters = { type: "object" as const, properties: { id: { type: "string" }, q: { type: "string" } }, required: ["id"] };
    expect(checkToolDefinition({ ...base, urlTemplate: "https://api.example.com/items/{id}", parameters }).parameterLocations).toEqual({
      id: "path",
      q: "query",
    });
    expect(
      checkToolDefinition({ ...base, method: "POST", urlTemplate: "https://api.example.com/items/{id}", parameters }).parameterLocations,
    ).toEqual({ id: "path", q: "body" });
  });

  it("refuses placeholders in the host, unknown or optional path parameters, reserved headers and bodies on GET", () => {
    const bad: Array<
      Pick<Parameters<typeof checkToolDefinition>[0], "urlTemplate" | "parameters"> & {
        parameterLocations?: Record<string, "header" | "body">;
      }
    > = [
      { urlTemplate: "https://{h}.example.com/", parameters: { type: "object" as const, properties: { h: {} }, required: ["h"] } },
      { urlTemplate: "https://api.example.com/{missing}", parameters: { type: "object" as const, properties: {} } },
      { urlTemplate: "https://api.example.com/{id}", parameters: { type: "object" as const, properties: { id: {} } } },
      {
        urlTemplate: "https://api.example.com/",
        parameters: { type: "object" as const, properties: { Authorization: {} } },
        parameterLocations: { Authorization: "header" as const },
      },
      {
        urlTemplate: "https://api.example.com/",
        parameters: { type: "object" as const, properties: { x: {} } },
        parameterLocations: { x: "body" as const },
      },
    ];
    for (const definition of bad) expect(() => checkToolDefinition({ ...base, ...definition })).toThrow(InvalidToolError);
  });

  it("names must be valid model function names", () => {
    expect(
      createToolInput.safeParse({ name: "a".repeat(65), description: "d", method: "GET", urlTemplate: "https://x.example.com" }).success,
    ).toBe(false);
    expect(
      createToolInput.safeParse({ name: "get order", description: "d", method: "GET", urlTemplate: "https://x.example.com" }).success,
    ).toBe(false);
  });
});

describe("OpenAPI import", () => {
  it("turns the Petstore operations into tools with the api_key scheme", () => {
    const doc = parseOpenApiDocument(readFileSync(new URL("../../test/fixtures/petstore.yaml", import.meta.url), "utf8"));
    const tools = toolsFromOpenApi(doc, { credentials: { value: "k" } });
    expect(tools.map((t) => [t.name, t.method, t.urlTemplate])).toEqual([
      ["listPets", "GET", "http://petstore.swagger.io/v1/pets"],
      ["createPets", "POST", "http://petstore.swagger.io/v1/pets"],
      ["showPetById", "GET", "http://petstore.swagger.io/v1/pets/{petId}"],
    ]);
    expect(tools[0]!.auth).toEqual({ type: "api_key", in: "header", name: "api_key", value: "k" });
    expect(tools[1]!.parameters).toMatchObject({
      properties: { id: { type: "integer" }, name: { type: "string" } },
      required: ["id", "name"],
    });
    expect(() => toolsFromOpenApi(doc, {})).toThrow(OpenApiImportError);
    expect(() => parseOpenApiDocument("swagger: '2.0'\npaths: {}")).toThrow(OpenApiImportError);
  });
});

describe("response mapping and tokens", () => {
  it("selects a dot path of JSON", () => {
    expect(mapResponse('{"a":{"b":[1,{"c":"x"}]}}', { path: "a.b.1.c" })).toBe("x");
    expect(mapResponse("plain", { path: "a" })).toBe("plain");
  });

  it("caches a token until shortly before it expires", async () => {
    let now = 0;
    let issued = 0;
    const cache = new OAuthTokenCache(() => now);
    const fetch = async () => {
      issued++;
      const body = new TextEncoder().encode(JSON.stringify({ access_token: `t${issued}`, expires_in: 60 }));
      return { status: 200, headers: {}, body, url: "", text: () => new TextDecoder().decode(body) };
    };
    const auth = {
      type: "oauth2_client_credentials" as const,
      tokenUrl: "https://auth.example.com/token",
      clientId: "c",
      clientSecret: "s",
    };
    expect(await cache.get("k", auth, fetch, 1000)).toBe("t1");
    now = 29_000;
    expect(await cache.get("k", auth, fetch, 1000)).toBe("t1");
    now = 31_000;
    expect(await cache.get("k", auth, fetch, 1000)).toBe("t2");
  });

  it("resolves local references and refuses external ones, unresolved ones and cycles", () => {
    const doc = (parameter: unknown, schemas: Record<string, unknown> = {}) =>
      parseOpenApiDocument({
        openapi: "3.0.3",
        info: { title: "t", version: "1" },
        servers: [{ url: "https://api.example.com" }],
        paths: { "/items": { get: { operationId: "listItems", parameters: [parameter], responses: {} } } },
        components: {
          parameters: { Q: { name: "q", in: "query", schema: { $ref: "#/components/schemas/S" } } },
          schemas: { S: { type: "string" }, ...schemas },
        },
      });
    const [tool] = toolsFromOpenApi(doc({ $ref: "#/components/parameters/Q" }), {});
    expect(tool!.parameters).toMatchObject({ properties: { q: { type: "string" } } });
    expect(() => toolsFromOpenApi(doc({ $ref: "https://evil.example/p.json" }), {})).toThrow(/Only local references/);
    expect(() => toolsFromOpenApi(doc({ $ref: "#/components/parameters/Missing" }), {})).toThrow(/Unresolved reference/);
    const cyclic = { type: "object", properties: { self: { $ref: "#/components/schemas/Loop" } } };
    expect(() =>
      toolsFromOpenApi(doc({ name: "q", in: "query", schema: { $ref: "#/components/schemas/Loop" } }, { Loop: cyclic }), {}),
    ).toThrow(/nest too deeply/);
  });
});
