/**
 * Sorting a failed turn into "the world is briefly broken" (a dependency is down, overloaded or
 * restarting: retry the same message in this process once the dependency answers again, without
 * spending one of its queue receives) and everything else (retry through the queue, and after the
 * last allowed receive park it in the dead-letter queue).
 */
const TRANSIENT_CODES = new Set([
  // Node and undici network errors
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  // PostgreSQL: shutting down or starting up, too many connections, lost races
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "40001",
  "40P01",
  "55000", // object not in prerequisite state: a database not accepting connections
]);

// ChromaConnectionError: the chromadb client's "server unreachable" (it drops the network error's code).
const TRANSIENT_NAMES = new Set([
  "APIConnectionError",
  "APIConnectionTimeoutError",
  "TimeoutError",
  "ConnectionError",
  "ChromaConnectionError",
]);

const TRANSIENT_MESSAGE =
  /connection terminated|terminating connection|connection (?:refused|reset|closed)|client has encountered a connection error|timeout exceeded when trying to connect|fetch failed|socket hang up|not currently accepting connections|the database system is (?:starting up|shutting down)/i;

/** True when retrying the same work soon can succeed: connection failures, 429 and 5xx answers. */
export function isTransientFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (typeof current !== "object") return false;
    const candidate = current as { code?: unknown; status?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof candidate.code === "string" && (TRANSIENT_CODES.has(candidate.code) || candidate.code.startsWith("08"))) return true;
    if (typeof candidate.status === "number" && (candidate.status === 429 || candidate.status >= 500)) return true;
    if (typeof candidate.name === "string" && TRANSIENT_NAMES.has(candidate.name)) return true;
    if (typeof candidate.message === "string" && TRANSIENT_MESSAGE.test(candidate.message)) return true;
    current = candidate.cause;
  }
  return false;
}

/** A stable code for the dead-letter attributes and logs: the error's own code, else its class. */
export function failureCode(error: unknown): string {
  if (error && typeof error === "object") {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === "string" && name) return name;
  }
  return "UNKNOWN";
}
