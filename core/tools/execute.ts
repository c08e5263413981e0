import type { SafeFetch, SafeResponse } from "../http/safe-fetch";
import { SafeFetchError } from "../http/safe-fetch";
import { maskSecrets } from "../access/audit";
import { argumentsSchema, authSecrets, MASK, type AuthConfig, type ToolDefinition } from "./definition";
import { issueDetails } from "../errors";
import { withoutImages } from "../channels/content";

/** A tool ready to run: its definition and its opened auth configuration (pool memory only). */
export interface RunnableTool extends ToolDefinition {
  id: string;
  tenantId: string;
  auth: AuthConfig;
}

/** The request as it is shown (test endpoint, logs): secrets replaced by the mask. */
export interface ShownRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ToolRunResult {
  ok: boolean;
  /** `ok`, `http_error`, `invalid_arguments`, or the transport's failure code (`UNSAFE_URL`, `TIMEOUT`...). */
  outcome: string;
  status?: number;
  latencyMs: number;
  responseBytes: number;
  /** What the model sees: the mapped part of the response, capped, secrets scrubbed. */
  output: string;
  request?: ShownRequest;
  /** The raw response body (capped, secrets scrubbed), for the test endpoint. */
  responseBody?: string;
  /** The arguments with secret-looking fields masked, for logs and the turn record. */
  arguments: unknown;
}

/** Fetches OAuth2 client-credentials tokens and caches them until shortly before expiry (per process). */
export class OAuthTokenCache {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  async get(
    key: string,
    auth: Extract<AuthConfig, { type: "oauth2_client_credentials" }>,
    fetch: SafeFetch,
    timeoutMs: number,
  ): Promise<string> {
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (auth.scopes?.length) form.set("scope", auth.scopes.join(" "));
    if (auth.audience) form.set("audience", auth.audience);
    const response = await fetch({
      url: auth.tokenUrl,
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        authorization: `Basic ${btoa(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`)}`,
      },
      body: form.toString(),
      timeoutMs,
      maxResponseBytes: 64 * 1024,
      maxRedirects: 0,
    });
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(response.text()) as typeof parsed;
    } catch {
      parsed = {};
    }
    if (response.status !== 200 || typeof parsed.access_token !== "string") throw new OAuthTokenError(response.status);
    const lifetime = typeof parsed.expires_in === "number" ? parsed.expires_in : 3600;
    // Renew a little early so a token never expires between the check and the call.
    this.tokens.set(key, { token: parsed.access_token, expiresAt: this.now() + Math.max(0, lifetime - 30) * 1000 });
    if (this.tokens.size > 10_000) this.tokens.delete(this.tokens.keys().next().value!);
    return parsed.access_token;
  }
}

export class OAuthTokenError extends Error {
  readonly code = "OAUTH_TOKEN_FAILED";
  constructor(readonly status: number) {
    super(`the token endpoint answered ${status} without an access token`);
  }
}

/**
 * Runs one tool call: validates the arguments against the tool's JSON Schema (nothing is sent if
 * they do not match), builds the request (path, query, header and body parameters, then auth),
 * sends it through the SSRF-safe client and maps the response to what the model sees. Never
 * throws for the tool's failures: the result says what happened, with every secret scrubbed.
 */
export async function runTool(
  tool: RunnableTool,
  rawArguments: unknown,
  deps: { fetch: SafeFetch; tokens: OAuthTokenCache; now?: () => number },
): Promise<ToolRunResult> {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const secrets = authSecrets(tool.auth);
  const scrub = (text: string) => secrets.reduce((result, value) => result.split(value).join(MASK), text);
  const shownArguments = JSON.parse(scrub(JSON.stringify(maskSecrets(rawArguments ?? {}) ?? {}))) as unknown;
  const finish = (
    partial: Omit<ToolRunResult, "latencyMs" | "arguments" | "responseBytes"> & { responseBytes?: number },
  ): ToolRunResult => ({
    responseBytes: 0,
    ...partial,
    latencyMs: Math.round(now() - started),
    arguments: shownArguments,
  });

  const parsed = argumentsSchema(tool.parameters).safeParse(rawArguments ?? {});
  if (!parsed.success) {
    const problems = issueDetails(parsed.error.issues, 5).map((issue) => `${issue.path || "(arguments)"}: ${issue.message}`);
    return finish({
      ok: false,
      outcome: "invalid_arguments",
      output: scrub(`Invalid arguments, nothing was sent. ${problems.join("; ")}`),
    });
  }
  const args = parsed.data;

  let built: { url: URL; headers: Record<string, string>; body?: string };
  try {
    built = buildRequest(tool, args);
  } catch (error) {
    return finish({
      ok: false,
      outcome: "invalid_arguments",
      output: scrub(`Invalid arguments, nothing was sent. ${(error as Error).message}`),
    });
  }
  const shown: ShownRequest = {
    method: tool.method,
    url: built.url.toString(),
    headers: { ...built.headers },
    ...(built.body !== undefined ? { body: built.body } : {}),
  };
  const sensitiveHeaders: string[] = [];
  try {
    await applyAuth(tool, built, shown, sensitiveHeaders, deps);
  } catch (error) {
    const code = error instanceof SafeFetchError ? error.code : error instanceof OAuthTokenError ? error.code : "AUTH_FAILED";
    return finish({
      ok: false,
      outcome: code,
      output: `The tool's credentials could not be obtained (${code}).`,
      request: scrubRequest(shown, scrub),
    });
  }

  let response: SafeResponse;
  try {
    response = await deps.fetch({
      url: built.url.toString(),
      method: tool.method,
      headers: { accept: "application/json, text/plain;q=0.9, */*;q=0.5", ...built.headers },
      ...(built.body !== undefined ? { body: built.body } : {}),
      timeoutMs: tool.timeoutMs,
      maxResponseBytes: 1024 * 1024,
      sensitiveHeaders,
    });
  } catch (error) {
    const code = error instanceof SafeFetchError ? error.code : "CONNECTION_FAILED";
    const message = error instanceof SafeFetchError ? error.message : "The request failed.";
    return finish({ ok: false, outcome: code, output: `The request was not completed: ${message}`, request: scrubRequest(shown, scrub) });
  }
  const text = scrub(response.text());
  const ok = response.status >= 200 && response.status < 300;
  const mapped = ok ? mapResponse(text, tool.responseMapping) : `HTTP ${response.status}: ${text}`;
  return finish({
    ok,
    outcome: ok ? "ok" : "http_error",
    status: response.status,
    responseBytes: response.body.byteLength,
    // Image markup in a tool result would reach the model and then a channel as a URL to fetch.
    output: truncate(withoutImages(mapped), tool.responseMapping.maxBytes),
    request: scrubRequest(shown, scrub),
    responseBody: truncate(text, 64 * 1024),
  });
}

function buildRequest(tool: RunnableTool, args: Record<string, unknown>): { url: URL; headers: Record<string, string>; body?: string } {
  let path = tool.urlTemplate;
  const query: Array<[string, string]> = [];
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  let hasBody = false;
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue;
    const location = tool.parameterLocations[name];
    if (location === "path") {
      const text = String(value);
      if (text === "." || text === ".." || text === "") throw new Error(`${name}: not a valid path segment`);
      path = path.split(`{${name}}`).join(encodeURIComponent(text));
    } else if (location === "query") {
      for (const item of Array.isArray(value) ? value : [value])
        query.push([name, typeof item === "object" ? JSON.stringify(item) : String(item)]);
    } else if (location === "header") {
      const text = typeof value === "object" ? JSON.stringify(value) : String(value);
      if (/[\r\n]/.test(text)) throw new Error(`${name}: header values cannot contain line breaks`);
      headers[name] = text;
    } else if (location === "body") {
      body[name] = value;
      hasBody = true;
    }
  }
  const url = new URL(path);
  for (const [name, value] of query) url.searchParams.append(name, value);
  if (hasBody) headers["content-type"] = "application/json";
  return { url, headers, ...(hasBody ? { body: JSON.stringify(body) } : {}) };
}

async function applyAuth(
  tool: RunnableTool,
  built: { url: URL; headers: Record<string, string> },
  shown: ShownRequest,
  sensitiveHeaders: string[],
  deps: { fetch: SafeFetch; tokens: OAuthTokenCache },
): Promise<void> {
  const auth = tool.auth;
  const setHeader = (name: string, value: string, masked: string) => {
    built.headers[name] = value;
    shown.headers[name] = masked;
    sensitiveHeaders.push(name);
  };
  switch (auth.type) {
    case "none":
      return;
    case "api_key":
      if (auth.in === "header") setHeader(auth.name, auth.value, MASK);
      else {
        built.url.searchParams.set(auth.name, auth.value);
        const masked = new URL(shown.url);
        masked.searchParams.set(auth.name, MASK);
        shown.url = masked.toString();
      }
      return;
    case "bearer":
      setHeader("authorization", `Bearer ${auth.token}`, `Bearer ${MASK}`);
      return;
    case "basic":
      setHeader("authorization", `Basic ${btoa(`${auth.username}:${auth.password}`)}`, `Basic ${MASK}`);
      return;
    case "oauth2_client_credentials": {
      const token = await deps.tokens.get(
        `${tool.tenantId}:${tool.id}:${auth.tokenUrl}:${auth.clientId}:${(auth.scopes ?? []).join(" ")}`,
        auth,
        deps.fetch,
        tool.timeoutMs,
      );
      setHeader("authorization", `Bearer ${token}`, `Bearer ${MASK}`);
      return;
    }
  }
}

function scrubRequest(request: ShownRequest, scrub: (text: string) => string): ShownRequest {
  return JSON.parse(scrub(JSON.stringify(request))) as ShownRequest;
}

/** The part of a JSON body the mapping's dot path selects; the whole text when it is not JSON or the path is absent. */
export function mapResponse(text: string, mapping: { path?: string }): string {
  if (!mapping.path) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  for (const key of mapping.path.split(".")) {
    if (value === null || typeof value !== "object") return "null";
    value = (value as Record<string, unknown>)[key];
  }
  return value === undefined ? "null" : typeof value === "string" ? value : JSON.stringify(value);
}

function truncate(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  return `${new TextDecoder().decode(bytes.slice(0, maxBytes)).replace(/\uFFFD$/, "")}… [truncated]`;
}
