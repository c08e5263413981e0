import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** A field issue as the API reports it in `details` of a 400/422. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** An answer in the API's one error shape: its stable code, message and details. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** Field issues (`details` or `details.issues`), for showing next to the fields they concern. */
  get issues(): FieldIssue[] {
    const raw = Array.isArray(this.details) ? this.details : (this.details as { issues?: unknown } | undefined)?.issues;
    return Array.isArray(raw) ? raw.filter((i): i is FieldIssue => typeof i?.path === "string" && typeof i?.message === "string") : [];
  }

  /** A more precise code carried as `details.reason` (e.g. `SLUG_TAKEN` under `CONFLICT`). */
  get reason(): string | undefined {
    const reason = (this.details as { reason?: unknown } | undefined)?.reason;
    return typeof reason === "string" ? reason : undefined;
  }
}

let bearer: (() => Promise<string | undefined>) | undefined;
let onUnauthorized: (() => void) | undefined;

/** The session supplies the token (kept in memory) and hears about 401s. */
export function configureAuth(options: { token: () => Promise<string | undefined>; unauthorized: () => void }) {
  bearer = options.token;
  onUnauthorized = options.unauthorized;
}

const auth: Middleware = {
  async onRequest({ request }) {
    const token = await bearer?.();
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // A refused link or sign-up is that page's error, not the end of a session.
    if (response.status === 401 && !/\/v1\/(session|signup|invitation-acceptances)$/.test(new URL(response.url).pathname))
      onUnauthorized?.();
    return response;
  },
};

/** The typed client: every path, body and answer comes from the generated `schema.d.ts`. */
export const api = createClient<paths>({ baseUrl: location.origin });
api.use(auth);

/** The data of a call, or an {@link ApiProblem} thrown with the API's code (react-query shows it). */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  throw new ApiProblem(response.status, body?.code ?? `HTTP_${response.status}`, body?.message ?? response.statusText, body?.details);
}

/** JSON typed into a form field, or the same error the API gives for bad JSON, shown next to that field. */
export function parseJsonField<T>(text: string, path: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new ApiProblem(400, "INVALID_JSON", "Not valid JSON.", [{ path, message: (error as Error).message }]);
  }
}
