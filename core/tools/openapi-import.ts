import { parse as parseYaml } from "yaml";
import { dereference } from "@scalar/openapi-parser";
import { z } from "zod";
import type { AuthConfig, CreateToolInput } from "./definition";
import { DomainError } from "../errors";

/**
 * Turns the operations of an OpenAPI 3 document (JSON or YAML) into tool definitions: each
 * operation's path, query and header parameters and its JSON request body's properties become
 * the tool's parameters, and the document's security scheme its auth configuration (with the
 * credentials the caller supplies). Only local `#/components/...` references are followed.
 */
export const importToolsInput = z
  .object({
    /** The document itself (JSON or YAML text, or parsed JSON). */
    document: z.union([z.string().max(2_000_000), z.record(z.string(), z.unknown())]).optional(),
    /** Or where to fetch it (through the SSRF-safe client). */
    url: z.url().max(2048).optional(),
    /** operationIds (or `METHOD /path`) to import; absent: every operation. */
    operations: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** Overrides the document's first `servers` URL. */
    baseUrl: z.url().max(2048).optional(),
    /** Secrets for the document's security scheme. */
    credentials: z
      .object({
        value: z.string().min(1).max(4096).optional(),
        token: z.string().min(1).max(4096).optional(),
        username: z.string().min(1).max(256).optional(),
        password: z.string().min(1).max(4096).optional(),
        clientId: z.string().min(1).max(512).optional(),
        clientSecret: z.string().min(1).max(4096).optional(),
      })
      .strict()
      .optional(),
    /** Prefix for every tool name, e.g. `petstore_`. */
    namePrefix: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{0,20}$/)
      .optional(),
    requiresApproval: z.boolean().optional(),
  })
  .strict()
  .refine((input) => (input.document === undefined) !== (input.url === undefined), "give either document or url");
export type ImportToolsInput = z.input<typeof importToolsInput>;

/** A document that cannot be imported: 422 `INVALID_OPENAPI` with the reason. */
export class OpenApiImportError extends DomainError {
  constructor(message: string) {
    super("INVALID_OPENAPI", 422, message);
  }
}

type Json = Record<string, unknown>;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export function parseOpenApiDocument(document: string | Json): Json {
  let parsed: unknown = document;
  if (typeof document === "string") {
    try {
      parsed = parseYaml(document, { maxAliasCount: 100 });
    } catch {
      throw new OpenApiImportError("The document is neither JSON nor YAML.");
    }
  }
  if (
    !parsed ||
    typeof parsed !== "object" ||
    typeof (parsed as Json).openapi !== "string" ||
    !String((parsed as Json).openapi).startsWith("3.")
  ) {
    throw new OpenApiImportError("Only OpenAPI 3 documents can be imported.");
  }
  if (!(parsed as Json).paths || typeof (parsed as Json).paths !== "object") throw new OpenApiImportError("The document has no paths.");
  return parsed as Json;
}

export function toolsFromOpenApi(doc: Json, options: Omit<z.output<typeof importToolsInput>, "document" | "url">): CreateToolInput[] {
  const paths = dereferencedPaths(doc);
  const servers = doc.servers as Array<{ url?: string }> | undefined;
  const base = (options.baseUrl ?? servers?.[0]?.url ?? "").replace(/\/$/, "");
  if (!/^https?:\/\//.test(base)) throw new OpenApiImportError("The document has no absolute server URL; give baseUrl.");
  const wanted = options.operations ? new Set(options.operations) : undefined;
  const tools: CreateToolInput[] = [];
  for (const [path, item] of Object.entries(paths)) {
    const pathItem = item as Json;
    for (const method of METHODS) {
      const operation = pathItem[method] as Json | undefined;
      if (!operation) continue;
      const operationId = typeof operation.operationId === "string" ? operation.operationId : `${method}_${path}`;
      if (wanted && !wanted.has(operationId) && !wanted.has(`${method.toUpperCase()} ${path}`)) continue;
      const properties: Record<string, Json> = {};
      const required: string[] = [];
      const parameterLocations: Record<string, "path" | "query" | "header" | "body"> = {};
      const parameters = [...((pathItem.parameters as Json[]) ?? []), ...((operation.parameters as Json[]) ?? [])];
      for (const parameter of parameters) {
        const location = parameter.in as string;
        if (location !== "path" && location !== "query" && location !== "header") continue;
        const name = String(parameter.name);
        properties[name] = jsonSchemaOf(parameter.schema as Json | undefined, parameter.description);
        parameterLocations[name] = location;
        if (parameter.required || location === "path") required.push(name);
      }
      const body = ((operation.requestBody as Json | undefined)?.content as Json | undefined)?.["application/json"] as Json | undefined;
      const bodySchema = body?.schema as Json | undefined;
      if (bodySchema && (bodySchema.type === "object" || bodySchema.properties)) {
        for (const [name, schema] of Object.entries((bodySchema.properties as Record<string, Json>) ?? {})) {
          properties[name] = jsonSchemaOf(schema);
          parameterLocations[name] = "body";
        }
        for (const name of (bodySchema.required as string[]) ?? []) if (name in properties) required.push(name);
      }
      const summary = [operation.summary, operation.description]
        .filter((x): x is string => typeof x === "string" && x.length > 0)
        .join(" — ");
      tools.push({
        name: `${options.namePrefix ?? ""}${operationId}`.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64),
        description: (summary || `${method.toUpperCase()} ${path}`).slice(0, 1024),
        method: method.toUpperCase() as CreateToolInput["method"],
        urlTemplate: `${base}${path}`,
        parameters: { type: "object", properties, ...(required.length ? { required: [...new Set(required)] } : {}) },
        parameterLocations,
        requiresApproval: options.requiresApproval ?? false,
        auth: authFor(doc, operation, options.credentials),
      });
    }
  }
  if (tools.length === 0) throw new OpenApiImportError("No operation matched.");
  return tools;
}

/** A JSON Schema for a parameter, kept to what argument validation needs. */
function jsonSchemaOf(schema: Json | undefined, description?: unknown): Json {
  const { xml: _xml, example: _example, format, ...rest } = (schema ?? { type: "string" }) as Json;
  // int32/int64 are OpenAPI formats, not JSON Schema ones; the type already says integer.
  const kept = typeof format === "string" && !["int32", "int64", "float", "double"].includes(format) ? { format } : {};
  return { ...rest, ...kept, ...(typeof description === "string" && !rest.description ? { description } : {}) };
}

function authFor(doc: Json, operation: Json, credentials: z.output<typeof importToolsInput>["credentials"]): AuthConfig {
  const requirements = (operation.security ?? doc.security) as Array<Record<string, unknown>> | undefined;
  const schemeName = requirements?.map((r) => Object.keys(r)[0]).find(Boolean);
  if (!schemeName) return { type: "none" };
  const scheme = ((doc.components as Json | undefined)?.securitySchemes as Record<string, Json> | undefined)?.[schemeName];
  if (!scheme) throw new OpenApiImportError(`Unknown security scheme ${schemeName}.`);
  const need = (field: keyof NonNullable<typeof credentials>) => {
    const value = credentials?.[field];
    if (!value) throw new OpenApiImportError(`The security scheme ${schemeName} needs credentials.${field}.`);
    return value;
  };
  if (scheme.type === "apiKey" && (scheme.in === "header" || scheme.in === "query")) {
    return { type: "api_key", in: scheme.in, name: String(scheme.name), value: need("value") };
  }
  if (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "bearer") return { type: "bearer", token: need("token") };
  if (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "basic")
    return { type: "basic", username: need("username"), password: need("password") };
  const flow = ((scheme.flows as Json | undefined)?.clientCredentials as Json | undefined) ?? undefined;
  if (scheme.type === "oauth2" && flow && typeof flow.tokenUrl === "string") {
    const scopes = Object.keys((flow.scopes as Json | undefined) ?? {});
    return {
      type: "oauth2_client_credentials",
      tokenUrl: flow.tokenUrl,
      clientId: need("clientId"),
      clientSecret: need("clientSecret"),
      ...(scopes.length ? { scopes } : {}),
    };
  }
  throw new OpenApiImportError(
    `The security scheme ${schemeName} (${String(scheme.type)}) is not supported; use an API key, bearer, basic or OAuth2 client credentials.`,
  );
}

/**
 * The document's paths with every `$ref` replaced by its target (@scalar/openapi-parser's
 * synchronous `dereference`, which reads nothing outside the document: an external reference is
 * never fetched). What it leaves unresolved, and a reference cycle (a tool's parameters must be a
 * finite JSON schema), is refused with the reason.
 */
function dereferencedPaths(doc: Json): Json {
  const result = dereference(doc);
  const external = result.errors?.find((error) => error.code === "EXTERNAL_REFERENCE_NOT_FOUND");
  if (external) throw new OpenApiImportError(`Only local references are supported (${external.message.replace(/^.*: /, "")}).`);
  const paths = (result.schema as Json | undefined)?.paths as Json | undefined;
  if (!paths) throw new OpenApiImportError("The document has no paths.");
  const check = (value: unknown, ancestors: Set<object>, depth: number): void => {
    if (!value || typeof value !== "object") return;
    if (depth > 20 || ancestors.has(value)) throw new OpenApiImportError("References nest too deeply.");
    const ref = (value as Json).$ref;
    if (typeof ref === "string") {
      throw new OpenApiImportError(ref.startsWith("#/") ? `Unresolved reference ${ref}.` : `Only local references are supported (${ref}).`);
    }
    ancestors.add(value);
    for (const inner of Object.values(value)) check(inner, ancestors, depth + 1);
    ancestors.delete(value);
  };
  check(paths, new Set(), -1);
  return paths;
}
