import * as Sentry from "@sentry/node";
import { scrubErrorEvent } from "../../core/observability/error-scrub";
import type { Logger } from "../../core/observability/log";

/** Ids worth a tag: they let an error report be matched to its log lines. */
const TAGGED = ["requestId", "tenantId", "conversationId", "channelId", "sqsMessageId", "code"] as const;

/**
 * Error tracking for the pool with Sentry's Node SDK, on only when `SENTRY_DSN` is set. Errors
 * reach it through the logger: every `error` line (a failed message, every model failing, a
 * crash) becomes a Sentry event named by the log event, with the line's ids as tags and its
 * (already redacted) fields as context, so no call site changes and nothing logged is lost.
 * Returns the logger unchanged without a DSN.
 */
export function withErrorReporting(
  logger: Logger,
  options: { dsn?: string | undefined; environment?: string; release?: string },
): { logger: Logger; flush(): Promise<void> } {
  if (!options.dsn) return { logger, flush: async () => {} };
  Sentry.init({
    dsn: options.dsn,
    environment: options.environment ?? "production",
    ...(options.release ? { release: options.release } : {}),
    // No automatic instrumentation or PII: the pool reports what it logs as errors, scrubbed.
    defaultIntegrations: false,
    integrations: [
      Sentry.onUncaughtExceptionIntegration({ exitEvenIfOtherHandlersAreRegistered: false }),
      Sentry.onUnhandledRejectionIntegration(),
    ],
    tracesSampleRate: 0,
    beforeSend: (event) => scrubErrorEvent(event),
  });
  const wrap = (inner: Logger, bound: Record<string, unknown>): Logger => ({
    log(level, event, fields = {}) {
      inner.log(level, event, fields);
      if (level !== "error") return;
      const all = { ...bound, ...fields };
      Sentry.withScope((scope) => {
        for (const key of TAGGED) if (typeof all[key] === "string") scope.setTag(key, all[key] as string);
        scope.setContext("log", all);
        scope.setFingerprint([event, typeof all.code === "string" ? all.code : ""]);
        Sentry.captureMessage(typeof all.message === "string" ? `${event}: ${all.message}` : event, "error");
      });
    },
    child(fields) {
      return wrap(inner.child(fields), { ...bound, ...fields });
    },
  });
  return { logger: wrap(logger, {}), flush: async () => void (await Sentry.flush(2_000)) };
}
