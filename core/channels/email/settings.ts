import { z } from "zod";
import { commonSettings } from "../config";

const hostname = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/, "a host name or IP address, such as smtp.example.com");

/**
 * An email channel's settings: the sender the tenant verified with its mail provider and the SMTP
 * server replies go through (the password is a credential, sealed). Mail reaches the channel at its
 * inbound address (shown on the channel); tenants forward their own support address to it.
 */
export const emailSettings = commonSettings.extend({
  fromAddress: z.email().max(254),
  fromName: z.string().trim().min(1).max(100).optional(),
  smtp: z.object({
    host: hostname,
    /** Usually 587 (submission) or 465 (TLS); the host must be public either way (the pool checks every send). */
    port: z.number().int().min(1).max(65_535).default(587),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
    secure: z.boolean().optional(),
    username: z.string().min(1).max(254).optional(),
  }),
  /** Replies one correspondent gets per hour at most; more mail from them is stored and not answered (loops, floods). Default 20. */
  repliesPerHour: z.number().int().min(1).max(1000).optional(),
});
export type EmailSettings = z.infer<typeof emailSettings>;

export const DEFAULT_REPLIES_PER_HOUR = 20;

/** The stored settings, or undefined when they do not parse (a channel saved before a field became required). */
export function readEmailSettings(config: Record<string, unknown> | null | undefined): EmailSettings | undefined {
  const parsed = emailSettings.safeParse(config ?? {});
  return parsed.success ? parsed.data : undefined;
}
