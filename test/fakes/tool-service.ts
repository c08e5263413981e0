import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Credentials the fake accepts, one set per auth type. */
export const TOOL_SERVICE_SECRETS = {
  apiKey: "svc-api-key-5f1c9e2a7b",
  bearer: "svc-bearer-token-8d3e6a1f",
  basicUser: "svc-user",
  basicPassword: "svc-basic-pass-2b7c4e9d",
  clientId: "svc-client",
  clientSecret: "svc-client-secret-9a4f1d6e",
  petstoreKey: "pet-api-key-3c8e2f7a",
} as const;

export interface RecordedToolRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeToolService {
  url: string;
  /** host:port, for allowlists. */
  hostPort: string;
  requests: RecordedToolRequest[];
  /** Access tokens issued by the OAuth2 token endpoint. */
  tokensIssued(): number;
  close(): Promise<void>;
}

/**
 * A loopback HTTP service for tool tests, one route family per auth type:
 * `/{none,apikey-header,apikey-query,bearer,basic,oauth}/orders/{id}` answer
 * `{ order: { id, status } }` when the credentials are right (401 otherwise);
 * `POST /oauth/token` is an OAuth2 client-credentials token endpoint (client_secret_basic);
 * `/v1/pets...` is a small Petstore requiring the `api_key` header; `/redirect?to=` redirects;
 * `/big` answers 2 MiB. It never echoes credentials.
 */
export async function startFakeToolService(): Promise<FakeToolService> {
  const requests: RecordedToolRequest[] = [];
  const tokens = new Set<string>();
  const pets = [
    { id: 1, name: "Rex", tag: "dog" },
    { id: 2, name: "Tom", tag: "cat" },
  ];
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(request.url ?? "/", "http://fake");
    requests.push({ method: request.method ?? "GET", path: url.pathname + url.search, headers: request.headers, body });
    const json = (status: number, value: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    const auth = request.headers.authorization ?? "";

    if (url.pathname === "/oauth/token" && request.method === "POST") {
      const expected = `Basic ${Buffer.from(`${TOOL_SERVICE_SECRETS.clientId}:${TOOL_SERVICE_SECRETS.clientSecret}`).toString("base64")}`;
      if (auth !== expected || new URLSearchParams(body).get("grant_type") !== "client_credentials")
        return json(401, { error: "invalid_client" });
      const token = `svc-access-${tokens.size + 1}-${Math.random().toString(36).slice(2, 10)}`;
      tokens.add(token);
      return json(200, { access_token: token, token_type: "Bearer", expires_in: 3600 });
    }
    if (url.pathname === "/redirect") return response.writeHead(302, { location: url.searchParams.get("to") ?? "/" }).end();
    if (url.pathname === "/big") return response.writeHead(200, { "content-type": "text/plain" }).end("x".repeat(2 * 1024 * 1024));

    const pet = /^\/v1\/pets(?:\/(\d+))?$/.exec(url.pathname);
    if (pet) {
      if (request.headers.api_key !== TOOL_SERVICE_SECRETS.petstoreKey) return json(401, { code: 401, message: "unauthorized" });
      if (pet[1]) {
        const found = pets.find((p) => p.id === Number(pet[1]));
        return found ? json(200, found) : json(404, { code: 404, message: "not found" });
      }
      if (request.method === "POST") {
        const created = { id: pets.length + 1, ...(JSON.parse(body || "{}") as object) };
        pets.push(created as (typeof pets)[number]);
        return json(201, created);
      }
      return json(200, pets.slice(0, Number(url.searchParams.get("limit") ?? 100)));
    }

    const order = /^\/(none|apikey-header|apikey-query|bearer|basic|oauth)\/orders\/([^/]+)$/.exec(url.pathname);
    if (order) {
      const [, kind, id] = order;
      const ok =
        kind === "none" ||
        (kind === "apikey-header" && request.headers["x-api-key"] === TOOL_SERVICE_SECRETS.apiKey) ||
        (kind === "apikey-query" && url.searchParams.get("api_key") === TOOL_SERVICE_SECRETS.apiKey) ||
        (kind === "bearer" && auth === `Bearer ${TOOL_SERVICE_SECRETS.bearer}`) ||
        (kind === "basic" &&
          auth === `Basic ${Buffer.from(`${TOOL_SERVICE_SECRETS.basicUser}:${TOOL_SERVICE_SECRETS.basicPassword}`).toString("base64")}`) ||
        (kind === "oauth" && tokens.has(auth.replace(/^Bearer /, "")));
      if (!ok) return json(401, { error: "unauthorized" });
      return json(200, {
        order: { id: decodeURIComponent(id!), status: "shipped", carrier: "DHL" },
        meta: { via: kind, verbose: url.searchParams.get("verbose") },
      });
    }
    return json(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    tokensIssued: () => tokens.size,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
