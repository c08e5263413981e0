import { z } from "zod";
import type { ParameterLocation, ToolAuthType, ToolMethod } from "../../db/schema/tools";
import { checkUrlLiteral, UnsafeUrlError, type OutboundPolicy } from "../http/url-policy";
import { DomainError, type IssueDetail } from "../errors";

/**
 * What a tool is, as the API takes it. Runtime-agnostic: the edge validates with these when a
 * tool is saved (literal URL checks only: no DNS there), the pool again before every call.
 */
export const TOOL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const satisfies readonly ToolMethod[];
export const PARAMETER_LOCATIONS = ["path", "query", "header", "body"] as const satisfies readonly ParameterLocation[];
export const AUTH_TYPES = ["none", "api_key", "bearer", "basic", "oauth2_client_credentials"] as const satisfies readonly ToolAuthType[];

/** What the API shows instead of a secret. */
export const MASK = "********";
export const MAX_RESPONSE_BYTES = 16_000;
export const DEFAULT_RESPONSE_BYTES = 4_000;

/** OpenAI, Gemini and Anthropic all accept `^[a-zA-Z0-9_-]{1,64}$` as a function name. */
export const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "1 to 64 letters, digits, _ or -");
const parameterName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, "a parameter name: letters, digits, _ . -");
const secret = z.string().min(1).max(4096);
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "a valid HTTP header name");

/** Headers a parameter or an API key may not set: they belong to the transport or to auth. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "authorization",
  "cookie",
  "proxy-authorization",
  "upgrade",
  "te",
  "expect",
]);

export const authConfigInput = z.discriminatedUnion("type", [
  z.object({ type: z.literal("none") }).strict(),
  z.object({ type: z.literal("api_key"), in: z.enum(["header", "query"]), name: z.string().min(1).max(64), value: secret }).strict(),
  z.object({ type: z.literal("bearer"), token: secret }).strict(),
  z.object({ type: z.literal("basic"), username: z.string().min(1).max(256), password: secret }).strict(),
  z
    .object({
      type: z.literal("oauth2_client_credentials"),
      tokenUrl: z.url().max(2048),
      clientId: z.string().min(1).max(512),
      clientSecret: secret,
      scopes: z.array(z.string().min(1).max(200)).max(50).optional(),
      audience: z.string().min(1).max(512).optional(),
    })
    .strict(),
]);
export type AuthConfig = z.infer<typeof authConfigInput>;

/** Fields of an auth configuration that are secrets: sealed at rest, masked everywhere. */
export const SECRET_AUTH_FIELDS = ["value", "token", "password", "clientSecret"] as const;

/** The auth configuration without its secrets, as stored beside the sealed envelope and shown by the API. */
export function publicAuth(auth: AuthConfig): Record<string, unknown> {
  const { type: _type, ...rest } = auth as Record<string, unknown>;
  return Object.fromEntries(Object.entries(rest).filter(([key]) => !(SECRET_AUTH_FIELDS as readonly string[]).includes(key)));
}

/** The secret strings of an auth configuration, to scrub from anything shown or logged. */
export function authSecrets(auth: AuthConfig | undefined): string[] {
  if (!auth) return [];
  const values = SECRET_AUTH_FIELDS.map((field) => (auth as Record<string, unknown>)[field]).filter(
    (v): v is string => typeof v === "string" && v.length > 0,
  );
  if (auth.type === "basic") values.push(btoa(`${auth.username}:${auth.password}`));
  return values;
}

/** A JSON Schema of type object, with named properties: what the model sees as the function's parameters. */
export const parametersSchema = z
  .object({
    type: z.literal("object"),
    properties: z.record(parameterName, z.record(z.string(), z.unknown())).default({}),
    required: z.array(parameterName).optional(),
  })
  .catchall(z.unknown())
  .refine((schema) => JSON.stringify(schema).length <= 16_000, "at most 16,000 characters of JSON Schema");
export type ToolParameters = z.infer<typeof parametersSchema>;

export const responseMappingInput = z
  .object({
    /** A dot path into the JSON response (`data.items`, `results.0.name`); absent: the whole body. */
    path: z
      .string()
      .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/)
      .max(200)
      .optional(),
    maxBytes: z.number().int().min(100).max(MAX_RESPONSE_BYTES).default(DEFAULT_RESPONSE_BYTES),
  })
  .strict();

const toolFields = {
  name: toolName,
  description: z.string().trim().min(1).max(1024),
  method: z.enum(TOOL_METHODS),
  /** `https://api.example.com/orders/{orderId}`: placeholders only in the path. */
  urlTemplate: z.string().min(1).max(2048),
  parameters: parametersSchema.default({ type: "object", properties: {} }),
  /** Where each parameter goes; defaults: `path` for URL placeholders, else `query` (GET, DELETE) or `body`. */
  parameterLocations: z.record(parameterName, z.enum(PARAMETER_LOCATIONS)).default({}),
  responseMapping: responseMappingInput.default({ maxBytes: DEFAULT_RESPONSE_BYTES }),
  timeoutMs: z.number().int().min(100).max(30_000).default(10_000),
  requiresApproval: z.boolean().default(false),
  enabled: z.boolean().default(true),
  auth: authConfigInput.default({ type: "none" }),
};

export const createToolInput = z.object(toolFields).strict();
export type CreateToolInput = z.input<typeof createToolInput>;

export const updateToolInput = z
  .object({
    name: toolFields.name,
    description: toolFields.description,
    method: toolFields.method,
    urlTemplate: toolFields.urlTemplate,
    parameters: parametersSchema,
    parameterLocations: z.record(parameterName, z.enum(PARAMETER_LOCATIONS)),
    responseMapping: responseMappingInput,
    timeoutMs: toolFields.timeoutMs,
    requiresApproval: z.boolean(),
    /** Replaces the whole auth configuration (secrets included); omit to keep the current one. */
    auth: authConfigInput,
  })
  .partial()
  .strict();
export type UpdateToolInput = z.input<typeof updateToolInput>;

/** A tool's definition with every default settled, as stored (minus the sealed auth). */
export interface ToolDefinition {
  name: string;
  description: string;
  method: ToolMethod;
  urlTemplate: string;
  parameters: ToolParameters;
  parameterLocations: Record<string, ParameterLocation>;
  responseMapping: { path?: string; maxBytes: number };
  timeoutMs: number;
  requiresApproval: boolean;
}

/** A definition that breaks a rule the schema cannot express; `issues` name the fields. */
export class InvalidToolError extends DomainError {
  constructor(
    message: string,
    readonly issues: IssueDetail[],
  ) {
    super("INVALID_TOOL", 422, message, issues);
  }
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]{0,63})\}/g;

/** The `{name}` placeholders of a URL template, in order. */
export function templatePlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/**
 * Checks a definition as a whole and settles its parameter locations: placeholders only in the
 * path and each a required path parameter; every parameter placed; header parameters valid,
 * non-reserved header names; the URL (placeholders filled) passes the literal SSRF checks; the
 * JSON Schema converts (it is what validates the model's arguments).
 */
export function checkToolDefinition(
  definition: Omit<ToolDefinition, "parameterLocations"> & { parameterLocations: Record<string, ParameterLocation> },
  policy: OutboundPolicy = {},
  auth?: AuthConfig,
): ToolDefinition {
  const issues: Array<{ path: string; message: string }> = [];
  const placeholders = templatePlaceholders(definition.urlTemplate);
  const sample = definition.urlTemplate.replace(PLACEHOLDER, "p");
  try {
    const url = checkUrlLiteral(sample, policy);
    const marked = new URL(definition.urlTemplate.replace(PLACEHOLDER, "zzplaceholderzz"));
    if (marked.host.includes("zzplaceholderzz"))
      issues.push({ path: "urlTemplate", message: "placeholders are allowed in the path only, not in the host" });
    if (url.hash) issues.push({ path: "urlTemplate", message: "no fragment" });
  } catch (error) {
    issues.push({ path: "urlTemplate", message: error instanceof UnsafeUrlError ? error.message : "not a valid URL" });
  }
  if (auth?.type === "oauth2_client_credentials") {
    try {
      checkUrlLiteral(auth.tokenUrl, policy);
    } catch (error) {
      issues.push({ path: "auth.tokenUrl", message: error instanceof UnsafeUrlError ? error.message : "not a valid URL" });
    }
  }
  if (
    auth?.type === "api_key" &&
    auth.in === "header" &&
    (!headerName.safeParse(auth.name).success || RESERVED_HEADERS.has(auth.name.toLowerCase()))
  ) {
    issues.push({ path: "auth.name", message: "not a header an API key may use" });
  }

  const properties = definition.parameters.properties ?? {};
  const required = new Set(definition.parameters.required ?? []);
  const locations: Record<string, ParameterLocation> = {};
  for (const name of Object.keys(definition.parameterLocations)) {
    if (!(name in properties)) issues.push({ path: `parameterLocations.${name}`, message: "no such parameter" });
  }
  for (const name of Object.keys(properties)) {
    const location =
      definition.parameterLocations[name] ??
      (placeholders.includes(name) ? "path" : definition.method === "GET" || definition.method === "DELETE" ? "query" : "body");
    locations[name] = location;
    if (location === "path" && !placeholders.includes(name))
      issues.push({ path: `parameterLocations.${name}`, message: "a path parameter needs a {placeholder} in the URL" });
    if (location === "header" && (!headerName.safeParse(name).success || RESERVED_HEADERS.has(name.toLowerCase()))) {
      issues.push({ path: `parameters.properties.${name}`, message: "not a header a parameter may set" });
    }
    if (location === "body" && (definition.method === "GET" || definition.method === "DELETE")) {
      issues.push({ path: `parameterLocations.${name}`, message: `${definition.method} requests have no body` });
    }
  }
  for (const name of placeholders) {
    if (!(name in properties)) issues.push({ path: "urlTemplate", message: `{${name}} is not a parameter` });
    else if (locations[name] !== "path")
      issues.push({ path: `parameterLocations.${name}`, message: `{${name}} in the URL must be a path parameter` });
    else if (!required.has(name)) issues.push({ path: "parameters.required", message: `path parameter ${name} must be required` });
  }
  for (const name of required)
    if (!(name in properties)) issues.push({ path: "parameters.required", message: `${name} is not a property` });
  try {
    z.fromJSONSchema(definition.parameters as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    issues.push({ path: "parameters", message: "not a JSON Schema this platform can validate arguments with" });
  }
  if (issues.length) throw new InvalidToolError("The tool definition is invalid.", issues);
  return { ...definition, parameterLocations: locations };
}

/** The zod schema the model's arguments are validated with (from the tool's JSON Schema). */
export function argumentsSchema(parameters: ToolParameters): z.ZodType<Record<string, unknown>> {
  return z.fromJSONSchema(parameters as Parameters<typeof z.fromJSONSchema>[0]) as unknown as z.ZodType<Record<string, unknown>>;
}
