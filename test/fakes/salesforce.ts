import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { importSPKI, jwtVerify } from "jose";
import { FailureScript, FakeOAuthServer, readBody, sendJson } from "./oauth-provider";

export interface SalesforceRecord {
  Id: string;
  [field: string]: unknown;
}

export interface FakeSalesforce {
  /** SALESFORCE_LOGIN_URL and the org's instance URL: both are this server. */
  url: string;
  oauth: FakeOAuthServer;
  organizationId: string;
  /** Records by sObject type (`Contact`, `Lead`, `Case`, `Task`). */
  records: Map<string, SalesforceRecord[]>;
  /** Every SOQL query received, as sent. */
  queries: string[];
  requests: string[];
  failures: FailureScript;
  /** Accepts JWT bearer assertions for this connected app and user, signed with this key (SPKI PEM). */
  trustJwtKey(clientId: string, username: string, publicKeyPem: string): void;
  jwtGrants: number;
  addRecord(type: string, fields: Record<string, unknown>): SalesforceRecord;
  close(): Promise<void>;
}

/**
 * A loopback fake of Salesforce: the OAuth endpoints (`/services/oauth2/authorize`, `token` with
 * authorization code + PKCE, refresh and the JWT bearer grant, `revoke`, `userinfo`) and the REST
 * API the tools use through jsforce (`/services/data/vXX.X/query` with a small SOQL reader that
 * understands `WHERE Field = '…'` with SOQL's escaping, `sobjects/<Type>` create), errors in
 * Salesforce's shape (`[{ message, errorCode }]`). The token response names this server as the
 * instance URL; access tokens carry no lifetime; refresh tokens do not rotate.
 */
export async function startFakeSalesforce(options: { clientId: string; clientSecret: string; port?: number }): Promise<FakeSalesforce> {
  let url = "";
  const organizationId = `00D${randomBytes(6).toString("hex").toUpperCase()}`;
  const oauth = new FakeOAuthServer({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    pkce: "required",
    tokenType: "Bearer",
    tokenExtras: () => ({
      instance_url: url,
      id: `${url}/id/${organizationId}/005000000000001`,
      issued_at: String(Date.now()),
      signature: "fake",
    }),
  });
  const records = new Map<string, SalesforceRecord[]>([
    ["Contact", []],
    ["Lead", []],
    ["Case", []],
    ["Task", []],
  ]);
  const queries: string[] = [];
  const requests: string[] = [];
  const failures = new FailureScript();
  const jwtKeys = new Map<string, { username: string; pem: string }>();
  let jwtGrants = 0;
  let nextId = 1;
  const newId = (prefix: string) => `${prefix}${String(nextId++).padStart(15 - prefix.length, "0")}`;
  const prefixes: Record<string, string> = { Contact: "003", Lead: "00Q", Case: "500", Task: "00T" };

  const sfError = (errorCode: string, message: string) => [{ message, errorCode }];

  const server: Server = createServer(async (request, response) => {
    const requestUrl = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = requestUrl.pathname;
    const body = await readBody(request);
    if (path === "/services/oauth2/authorize" && request.method === "GET") return oauth.answerAuthorize(requestUrl, response);
    if (path === "/services/oauth2/token" && request.method === "POST") {
      const form = new URLSearchParams(body);
      if (form.get("grant_type") === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
        jwtGrants++;
        const assertion = form.get("assertion") ?? "";
        const issuer = JSON.parse(Buffer.from(assertion.split(".")[1] ?? "", "base64url").toString("utf8") || "{}").iss as
          string | undefined;
        const trusted = issuer ? jwtKeys.get(issuer) : undefined;
        if (!trusted) return sendJson(response, 400, { error: "invalid_client_id", error_description: "client identifier invalid" });
        try {
          await jwtVerify(assertion, await importSPKI(trusted.pem, "RS256"), {
            issuer,
            audience: url,
            subject: trusted.username,
            algorithms: ["RS256"],
          });
        } catch {
          return sendJson(response, 400, { error: "invalid_grant", error_description: "invalid assertion" });
        }
        return sendJson(response, 200, {
          access_token: oauth.issueFor("api"),
          token_type: "Bearer",
          instance_url: url,
          scope: "api",
          id: `${url}/id/${organizationId}/005000000000002`,
        });
      }
      const answer = await oauth.token(form, request.headers.authorization);
      return sendJson(response, answer.status, answer.body);
    }
    if (path === "/services/oauth2/revoke" && request.method === "POST") {
      return oauth.revoke(new URLSearchParams(body).get("token") ?? "")
        ? response.writeHead(200).end()
        : sendJson(response, 400, { error: "unsupported_token_type", error_description: "this token type is not supported" });
    }

    requests.push(`${request.method} ${path}`);
    if (!oauth.valid(request.headers.authorization))
      return sendJson(response, 401, sfError("INVALID_SESSION_ID", "Session expired or invalid"));
    const failure = failures.take();
    if (failure)
      return sendJson(
        response,
        failure.status === 429 ? 403 : failure.status,
        sfError(failure.status === 429 ? "REQUEST_LIMIT_EXCEEDED" : "UNKNOWN_EXCEPTION", "scripted failure"),
      );

    if (path === "/services/oauth2/userinfo")
      return sendJson(response, 200, {
        organization_id: organizationId,
        preferred_username: "admin@acme.example",
        name: "Acme Admin",
        user_id: "005000000000001",
      });

    if (/^\/services\/data\/v[0-9.]+\/query\/?$/.test(path) && request.method === "GET") {
      const soql = requestUrl.searchParams.get("q") ?? "";
      queries.push(soql);
      const parsed = readSoql(soql);
      if (!parsed) return sendJson(response, 400, sfError("MALFORMED_QUERY", `unexpected SOQL: ${soql}`));
      const rows = (records.get(parsed.from) ?? [])
        .filter((record) => !parsed.where || String(record[parsed.where.field] ?? "").toLowerCase() === parsed.where.value.toLowerCase())
        .slice(0, parsed.limit ?? 2000)
        .map((record) => ({
          attributes: { type: parsed.from, url: `/services/data/v59.0/sobjects/${parsed.from}/${record.Id}` },
          ...pick(record, parsed.fields),
        }));
      return sendJson(response, 200, { totalSize: rows.length, done: true, records: rows });
    }
    const create = /^\/services\/data\/v[0-9.]+\/sobjects\/(\w+)\/?$/.exec(path);
    if (create && request.method === "POST") {
      const type = create[1]!;
      const fields = JSON.parse(body || "{}") as Record<string, unknown>;
      if (type === "Lead" && (!fields.LastName || !fields.Company))
        return sendJson(response, 400, sfError("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName, Company]"));
      const record = { Id: newId(prefixes[type] ?? "a00"), ...fields };
      if (!records.has(type)) records.set(type, []);
      records.get(type)!.push(record);
      return sendJson(response, 201, { id: record.Id, success: true, errors: [] });
    }
    return sendJson(response, 404, sfError("NOT_FOUND", `The requested resource does not exist: ${request.method} ${path}`));
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    oauth,
    organizationId,
    records,
    queries,
    requests,
    failures,
    trustJwtKey(clientId, username, pem) {
      jwtKeys.set(clientId, { username, pem });
    },
    get jwtGrants() {
      return jwtGrants;
    },
    addRecord(type, fields) {
      const record = { Id: newId(prefixes[type] ?? "a00"), ...fields };
      if (!records.has(type)) records.set(type, []);
      records.get(type)!.push(record);
      return record;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** `SELECT a, b FROM T [WHERE F = 'v'] [LIMIT n]`, with SOQL's backslash escapes in the literal. */
function readSoql(soql: string): { fields: string[]; from: string; where?: { field: string; value: string }; limit?: number } | undefined {
  const match = /^SELECT (.+?) FROM (\w+)(?: WHERE (\w+) = '((?:[^'\\]|\\.)*)')?(?: LIMIT (\d+))?$/i.exec(soql.trim());
  if (!match) return undefined;
  return {
    fields: match[1]!.split(",").map((f) => f.trim()),
    from: match[2]!,
    ...(match[3] ? { where: { field: match[3], value: match[4]!.replace(/\\(.)/g, "$1") } } : {}),
    ...(match[5] ? { limit: Number(match[5]) } : {}),
  };
}

function pick(record: SalesforceRecord, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(
    fields.map((field) => [
      field,
      record[field] ?? (field === "Name" ? [record.FirstName, record.LastName].filter(Boolean).join(" ") || null : null),
    ]),
  );
}
