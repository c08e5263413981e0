import { z } from "zod";
import type { SesAccount, SmtpServer } from "../adapter";
import { commonSettings } from "../config";

const hostname = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/, "a host name or IP address, such as smtp.example.com");

/**
 * An email channel's settings: the sender the tenant verified with its mail provider and how replies
 * leave, through its SMTP server or its Amazon SES account (exactly one; the SMTP password and the
 * AWS access key are credentials, sealed). Mail reaches the channel at its inbound address (shown on
 * the channel) or through an SES receipt rule's SNS topic subscribed at the channel's webhookUrl.
 */
export const emailSettings = commonSettings
  .extend({
    fromAddress: z.email().max(254),
    fromName: z.string().trim().min(1).max(100).optional(),
    smtp: z
      .object({
        host: hostname,
        /** Usually 587 (submission) or 465 (TLS); the host must be public either way (the pool checks every send). */
        port: z.number().int().min(1).max(65_535).default(587),
        /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
        secure: z.boolean().optional(),
        username: z.string().min(1).max(254).optional(),
      })
      .optional(),
    /** Amazon SES (API v2) in the tenant's account: the region where fromAddress's identity is verified. */
    ses: z
      .object({
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, "an AWS region such as eu-west-1"),
        /** Its event destinations publish bounces and complaints (to the channel's webhookUrl, shown on failed replies). */
        configurationSet: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional(),
      })
      .optional(),
    /** Replies one correspondent gets per hour at most; more mail from them is stored and not answered (loops, floods). Default 20. */
    repliesPerHour: z.number().int().min(1).max(1000).optional(),
  })
  .refine((settings) => Boolean(settings.smtp) !== Boolean(settings.ses), {
    message: "set exactly one of smtp (your SMTP server) and ses (your Amazon SES account)",
    path: ["smtp"],
  });
export type EmailSettings = z.infer<typeof emailSettings>;

export const DEFAULT_REPLIES_PER_HOUR = 20;

/** The stored settings, or undefined when they do not parse (a channel saved before a field became required). */
export function readEmailSettings(config: Record<string, unknown> | null | undefined): EmailSettings | undefined {
  const parsed = emailSettings.safeParse(config ?? {});
  return parsed.success ? parsed.data : undefined;
}

/**
 * How a reply leaves: the channel's SMTP server or its SES account, with the sealed credentials
 * opened; a string says why it cannot (the reply fails with it, as the channel's check shows).
 */
export function mailRouteOf(
  settings: EmailSettings,
  credentials: Record<string, string> | null | undefined,
): SmtpServer | SesAccount | string {
  if (settings.ses) {
    if (!credentials?.awsAccessKeyId || !credentials.awsSecretAccessKey) {
      return "the channel sends through Amazon SES but has no AWS access key (awsAccessKeyId and awsSecretAccessKey)";
    }
    return {
      transport: "ses",
      region: settings.ses.region,
      accessKeyId: credentials.awsAccessKeyId,
      secretAccessKey: credentials.awsSecretAccessKey,
      configurationSet: settings.ses.configurationSet,
    };
  }
  if (!settings.smtp) return "the channel has no SMTP server and no Amazon SES account";
  return {
    transport: "smtp",
    host: settings.smtp.host,
    port: settings.smtp.port,
    secure: settings.smtp.secure ?? settings.smtp.port === 465,
    username: settings.smtp.username,
    password: credentials?.smtpPassword,
  };
}

/** The route in words for the channel's check (never a secret). */
export function describeMailRoute(route: SmtpServer | SesAccount | string): string {
  if (typeof route === "string") return route;
  return route.transport === "ses"
    ? `Amazon SES in ${route.region} with access key ${route.accessKeyId.slice(0, 4)}…${route.configurationSet ? `, configuration set ${route.configurationSet}` : ""}`
    : `${route.host}:${route.port}${route.password ? " with a password" : " without a password"}`;
}
