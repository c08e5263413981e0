import { pino, type Logger as PinoLogger } from "pino";
import { redactFields, type Logger, type LogLevel } from "../../core/observability/log";

/**
 * The pool's logger: pino, one JSON object a line on stdout, behind the platform's `Logger`
 * interface so call sites are the same on both runtimes (the edge keeps console JSON: pino's Node
 * destinations do not exist under workerd). Lines look like the edge's:
 * `{"level":"info","time":"…","event":"turn.answered","service":"pool","tenantId":"…",…}`.
 * Every string field passes through `redactSecrets`, and keys that name credentials are masked by
 * pino's own redaction, so a careless field cannot leak a key.
 */
export function createPoolLogger(base: Record<string, unknown>, level: LogLevel, destination?: pino.DestinationStream): Logger {
  const root = pino(
    {
      level,
      base,
      messageKey: "event",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => redactFields(fields),
      },
      redact: {
        paths: [
          "authorization",
          "password",
          "token",
          "secret",
          "apiKey",
          "*.authorization",
          "*.password",
          "*.token",
          "*.secret",
          "*.apiKey",
        ],
        censor: "[redacted]",
      },
    },
    // Synchronous writes: the pool exits with process.exit() after draining, and no line may be lost.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
  return wrap(root);
}

function wrap(logger: PinoLogger): Logger {
  return {
    log(level, event, fields = {}) {
      logger[level](fields, event);
    },
    child(fields) {
      return wrap(logger.child(redactFields(fields)));
    },
  };
}
