import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FailureScript, FakeOAuthServer, readBody, sendJson } from "./oauth-provider";

export interface HubSpotRecord {
  id: string;
  properties: Record<string, string>;
  associations: Array<{ to: { id: string }; types: Array<{ associationTypeId: number }> }>;
}

export interface FakeHubSpot {
  /** HUBSPOT_API_BASE and HUBSPOT_AUTH_BASE: both are this server. */
  url: string;
  oauth: FakeOAuthServer;
  /** Private app tokens the fake accepts. */
  privateAppToken: string;
  portalId: number;
  /** Records by object type (`contacts`, `tickets`, `notes`, `deals`). */
  objects: Map<string, HubSpotRecord[]>;
  /** Every REST request as `METHOD /path`. */
  requests: string[];
  /** The next REST requests fail: `count` answers of `status` (429 with `Retry-After`). */
  failures: FailureScript;
  addContact(properties: Record<string, string>): HubSpotRecord;
  close(): Promise<void>;
}

/**
 * A loopback fake of HubSpot: the OAuth endpoints (`/oauth/authorize` on the app host,
 * `/oauth/v1/token`, `DELETE /oauth/v1/refresh/:token`), `GET /account-info/v3/details`, and the CRM
 * v3 object endpoints the tools use (contacts search, create and update; tickets, notes and deals
 * create), with HubSpot's error shape (`{ status: "error", message, correlationId, category }`).
 * Access tokens last 30 minutes (`expires_in: 1800`); refresh tokens do not rotate, as HubSpot's.
 */
export async function startFakeHubSpot(options: { clientId: string; clientSecret: string; port?: number }): Promise<FakeHubSpot> {
  const oauth = new FakeOAuthServer({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    accessLifetimeSeconds: 1800,
    pkce: "optional",
  });
  const privateAppToken = `pat-na1-${randomUUID()}`;
  const portalId = 4_200_042;
  const objects = new Map<string, HubSpotRecord[]>([
    ["contacts", []],
    ["tickets", []],
    ["notes", []],
    ["deals", []],
  ]);
  const requests: string[] = [];
  const failures = new FailureScript();
  let nextId = 1001;

  const hubspotError = (status: number, category: string, message: string) => ({
    status: "error",
    message,
    correlationId: randomUUID(),
    category,
  });

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const body = await readBody(request);
    if (path === "/oauth/authorize" && request.method === "GET") return oauth.answerAuthorize(url, response);
    if (path === "/oauth/v1/token" && request.method === "POST") {
      const answer = await oauth.token(new URLSearchParams(body), request.headers.authorization);
      // HubSpot answers refusals in its own shape, not OAuth's `error` field.
      if (answer.status !== 200)
        return sendJson(response, answer.status, {
          status: "BAD_REFRESH_TOKEN",
          message: String(answer.body.error_description),
          correlationId: randomUUID(),
        });
      return sendJson(response, 200, answer.body);
    }
    const revoke = /^\/oauth\/v1\/refresh\/([^/]+)$/.exec(path);
    if (revoke && request.method === "DELETE") {
      return oauth.revoke(decodeURIComponent(revoke[1]!))
        ? response.writeHead(204).end()
        : sendJson(response, 404, hubspotError(404, "OBJECT_NOT_FOUND", "refresh token not found"));
    }

    requests.push(`${request.method} ${path}`);
    const authorized = oauth.valid(request.headers.authorization) || request.headers.authorization === `Bearer ${privateAppToken}`;
    if (!authorized)
      return sendJson(response, 401, hubspotError(401, "EXPIRED_AUTHENTICATION", "The OAuth token used to make this call expired."));
    const failure = failures.take();
    if (failure)
      return sendJson(
        response,
        failure.status,
        hubspotError(
          failure.status,
          failure.status === 429 ? "RATE_LIMITS" : "INTERNAL_ERROR",
          failure.status === 429 ? "You have reached your secondly limit." : "internal error",
        ),
        failure.retryAfter ? { "retry-after": failure.retryAfter } : {},
      );

    if (path === "/account-info/v3/details" && request.method === "GET")
      return sendJson(response, 200, {
        portalId,
        accountType: "STANDARD",
        timeZone: "Europe/Amsterdam",
        companyCurrency: "EUR",
        uiDomain: "app.hubspot.com",
      });

    const search = /^\/crm\/v3\/objects\/(contacts)\/search$/.exec(path);
    if (search && request.method === "POST") {
      const query = JSON.parse(body || "{}") as {
        filterGroups?: Array<{ filters: Array<{ propertyName: string; operator: string; value: string }> }>;
        query?: string;
      };
      const filters = query.filterGroups?.[0]?.filters ?? [];
      const results = objects
        .get("contacts")!
        .filter((record) =>
          filters.length
            ? filters.every((f) => f.operator === "EQ" && (record.properties[f.propertyName] ?? "").toLowerCase() === f.value.toLowerCase())
            : Object.values(record.properties).some((v) => v.toLowerCase().includes((query.query ?? "").toLowerCase())),
        );
      return sendJson(response, 200, { total: results.length, results: results.map(view) });
    }
    const collection = /^\/crm\/v3\/objects\/(contacts|tickets|notes|deals)$/.exec(path);
    if (collection && request.method === "POST") {
      const input = JSON.parse(body || "{}") as { properties?: Record<string, string>; associations?: HubSpotRecord["associations"] };
      if (!input.properties) return sendJson(response, 400, hubspotError(400, "VALIDATION_ERROR", "properties are required"));
      const record: HubSpotRecord = { id: String(nextId++), properties: input.properties, associations: input.associations ?? [] };
      objects.get(collection[1]!)!.push(record);
      return sendJson(response, 201, view(record));
    }
    const item = /^\/crm\/v3\/objects\/(contacts)\/([0-9]+)$/.exec(path);
    if (item && request.method === "PATCH") {
      const record = objects.get("contacts")!.find((r) => r.id === item[2]);
      if (!record) return sendJson(response, 404, hubspotError(404, "OBJECT_NOT_FOUND", "resource not found"));
      Object.assign(record.properties, (JSON.parse(body || "{}") as { properties?: Record<string, string> }).properties ?? {});
      return sendJson(response, 200, view(record));
    }
    return sendJson(response, 404, hubspotError(404, "OBJECT_NOT_FOUND", `no route ${request.method} ${path}`));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    oauth,
    privateAppToken,
    portalId,
    objects,
    requests,
    failures,
    addContact(properties) {
      const record: HubSpotRecord = { id: String(nextId++), properties, associations: [] };
      objects.get("contacts")!.push(record);
      return record;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function view(record: HubSpotRecord) {
  const now = new Date().toISOString();
  return { id: record.id, properties: record.properties, createdAt: now, updatedAt: now, archived: false };
}
