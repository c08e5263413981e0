import { z } from "zod";

/**
 * A model candidate: which provider and model. The engine's model policy is an ordered list of
 * these plus selection rules (see core/engine); the tenant's default policy lives here.
 */
export const modelCandidate = z.object({
  provider: z.enum(["openai", "gemini", "groq", "ollama", "bedrock", "offline"]),
  model: z.string().min(1).max(128),
});

export const tenantBudget = z.object({
  /** Monthly spend limit in US dollars; 0 means no budget is enforced. */
  monthlyLimitUsd: z.number().nonnegative().max(1_000_000).default(0),
  /** Fraction of the limit after which the cheapest candidate is used. */
  softLimitRatio: z.number().min(0).max(1).default(0.8),
  /** What end users read once the hard limit is crossed. */
  hardLimitMessage: z
    .string()
    .min(1)
    .max(1000)
    .default("Sorry, this assistant is unavailable right now. Please try again later."),
});

/**
 * The tenant's master configuration, stored in `tenants.settings` and validated on every write
 * (admin API) and read (engine). One definition for both, so they never disagree.
 */
export const tenantSettings = z.object({
  locale: z.string().min(2).max(35).default("en"),
  timezone: z.string().min(1).max(64).default("UTC"),
  defaultModelPolicy: z
    .object({ candidates: z.array(modelCandidate).min(1).max(8) })
    .default({ candidates: [{ provider: "openai", model: "gpt-4o-mini" }] }),
  budget: tenantBudget.default({ monthlyLimitUsd: 0, softLimitRatio: 0.8, hardLimitMessage: "Sorry, this assistant is unavailable right now. Please try again later." }),
  /** Origins allowed by CORS on the admin API, e.g. a Bubble.io app's domain. */
  allowedOrigins: z.array(z.url().max(255)).max(20).default([]),
});

export type TenantSettings = z.infer<typeof tenantSettings>;

/** Reads stored settings leniently: missing fields take their defaults. */
export function readTenantSettings(stored: unknown): TenantSettings {
  return tenantSettings.parse(stored ?? {});
}
