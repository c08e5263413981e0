/**
 * Structured JSON log lines, one object a line, on both runtimes (Workers' console is captured as
 * structured logs; the pool's stdout goes to the log shipper). Callers pass identifiers, never
 * message contents or secrets.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(base: Record<string, unknown> = {}, minLevel: LogLevel = "info"): Logger {
  return loggerWith(() => base, minLevel);
}

/**
 * A child's fields are redacted when it first writes a line, not when it is made: every request
 * and turn makes children, and below the log level most never write.
 */
function loggerWith(baseFields: () => Record<string, unknown>, minLevel: LogLevel): Logger {
  return {
    log(level, event, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...baseFields(), ...redactFields(fields) });
      if (level === "error") console.error(line);
      else console.log(line);
    },
    child(fields) {
      const own = { ...fields };
      let merged: Record<string, unknown> | undefined;
      return loggerWith(() => (merged ??= { ...baseFields(), ...redactFields(own) }), minLevel);
    },
  };
}

/**
 * Error details for a log line: class, code and message, with anything shaped like a credential
 * (provider API keys, bot tokens, bearer values, passwords in URLs) masked, because vendor SDKs
 * sometimes echo part of a key or a URL holding a token in their messages.
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: redactSecrets(String(error)) };
  const code = (error as { code?: unknown }).code;
  return { error: error.name, ...(typeof code === "string" ? { code } : {}), message: redactSecrets(error.message) };
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(?:sk|pk|rk)-[A-Za-z0-9_*-]{6,}/g, // OpenAI / Stripe style keys
  /\b(?:bot)?\d{5,}:[A-Za-z0-9_-]{10,}/g, // Telegram bot tokens, bare or in /bot<token>/ paths
  /\bBearer\s+[A-Za-z0-9._~+/-]+=*/gi,
  /(?<=:\/\/[^/\s:@]+:)[^@\s/]+(?=@)/g, // the password in scheme://user:password@host
];

/** Masks credential-shaped substrings; used on every error message that reaches a log. */
export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((result, pattern) => result.replace(pattern, "[redacted]"), text);
}

/** `redactSecrets` over every string in a log line's fields (nested objects and arrays included). */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields, 0) as Record<string, unknown>;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item, depth + 1)]));
}
