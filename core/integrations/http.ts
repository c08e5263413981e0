import { ProviderError } from "./types";

/**
 * One JSON call to a provider's REST API outside its SDK (the probe, revocation, token grants the
 * OAuth client does not cover): a timeout, the provider's error text pulled from whichever of the
 * usual shapes it answers with, 401/403 flagged as refused credentials and 429 with its
 * `Retry-After`. Never puts a URL in an error (tokens can travel in paths, as HubSpot's revocation
 * does).
 */
export async function providerJson<T>(
  providerName: string,
  fetcher: typeof fetch,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetcher(url, {
      method: init.method ?? "GET",
      headers: { accept: "application/json", ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
    });
  } catch {
    throw new ProviderError(`${providerName} could not be reached.`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok) return body as T;
  throw errorFromResponse(providerName, response.status, response.headers.get("retry-after"), body);
}

/** A provider's failed answer as a ProviderError: its own words (capped), refusal and rate limit flagged. */
export function errorFromResponse(
  providerName: string,
  status: number,
  retryAfter: string | null | undefined,
  body: unknown,
): ProviderError {
  const words = providerWords(body);
  const options = {
    auth: status === 401,
    ...(status === 429 ? { retryAfterSeconds: retryAfterSeconds(retryAfter) } : {}),
  };
  const prefix =
    status === 401
      ? `${providerName} refused the credentials`
      : status === 403
        ? `${providerName} does not allow this with the connected account's permissions`
        : status === 404
          ? `${providerName} found no such record`
          : status === 429
            ? `${providerName} is rate limiting requests`
            : `${providerName} answered HTTP ${status}`;
  return new ProviderError(words ? `${prefix}: ${words}` : `${prefix}.`, status, options);
}

/** Seconds to wait from a `Retry-After` header (seconds or an HTTP date), 1 when absent or unreadable. */
export function retryAfterSeconds(header: string | null | undefined, now = Date.now()): number {
  if (!header) return 1;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - now) / 1000)) : 1;
}

/** The message in HubSpot's `{ message }`, Salesforce's `[{ message }]` or `{ error_description }`, Stripe's `{ error: { message } }`. */
function providerWords(body: unknown): string | undefined {
  const first = Array.isArray(body) ? body[0] : body;
  if (!first || typeof first !== "object") return undefined;
  const record = first as Record<string, unknown>;
  const nested = record.error && typeof record.error === "object" ? (record.error as Record<string, unknown>) : undefined;
  const candidates = [
    nested?.message,
    record.message,
    record.error_description,
    typeof record.error === "string" ? record.error : undefined,
  ];
  const found = candidates.find((value): value is string => typeof value === "string" && value.trim().length > 0);
  return found?.slice(0, 300);
}
