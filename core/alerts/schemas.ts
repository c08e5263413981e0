import { z } from "zod";

const windowMinutes = z
  .number()
  .int()
  .min(5)
  .max(7 * 24 * 60)
  .describe("How far back the rule looks, in minutes (5 to 10080)");

/** What a rule watches. */
export const alertCondition = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("cost_over"), thresholdUsd: z.number().positive().max(1_000_000), windowMinutes }),
  z.object({
    kind: z.literal("error_rate"),
    threshold: z.number().gt(0).max(1).describe("Failed turns and failed sends over turns, 0 to 1"),
    minTurns: z.number().int().min(1).max(1_000_000).default(10).describe("Below this many turns in the window the rule stays quiet"),
    windowMinutes,
  }),
  z.object({ kind: z.literal("no_traffic"), windowMinutes }),
]);

/** Where a firing rule is sent: email addresses, or an HTTPS webhook signed with the rule's secret. */
export const alertDelivery = z.discriminatedUnion("channel", [
  z.object({ channel: z.literal("email"), to: z.array(z.email().max(254)).min(1).max(10) }),
  z.object({ channel: z.literal("webhook"), url: z.url().max(2048) }),
]);

export const createAlertRuleInput = z.object({
  name: z.string().trim().min(1).max(120),
  condition: alertCondition,
  delivery: alertDelivery,
  enabled: z.boolean().default(true),
});
export const updateAlertRuleInput = z.object({
  name: z.string().trim().min(1).max(120).optional(),
  condition: alertCondition.optional(),
  delivery: alertDelivery.optional(),
  enabled: z.boolean().optional(),
});

export const alertRuleDto = z.object({
  id: z.uuid(),
  name: z.string(),
  condition: alertCondition,
  delivery: alertDelivery,
  enabled: z.boolean(),
  state: z.enum(["ok", "firing"]),
  lastEvaluatedAt: z.string().nullable(),
  lastFiredAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AlertRuleDto = z.infer<typeof alertRuleDto>;

export const createdAlertRuleDto = alertRuleDto.extend({
  signingSecret: z
    .string()
    .optional()
    .describe("Webhook rules only, shown once: verify `X-Agent-Signature` with it (HMAC-SHA256 of `<t>.<body>`)."),
});

export type CreateAlertRuleInput = z.infer<typeof createAlertRuleInput>;
export type UpdateAlertRuleInput = z.infer<typeof updateAlertRuleInput>;
