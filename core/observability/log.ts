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
  return {
    log(level, event, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...base, ...fields });
      if (level === "error") console.error(line);
      else console.log(line);
    },
    child(fields) {
      return createLogger({ ...base, ...fields }, minLevel);
    },
  };
}

/** Error details safe to log: the class and the code, and the message only for our own errors. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const code = (error as { code?: unknown }).code;
  return { error: error.name, ...(typeof code === "string" ? { code } : {}), message: error.message };
}
