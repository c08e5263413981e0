import { z } from "zod";
import { channelKinds } from "../../db/schema/channels";

export const modelProviders = ["openai", "gemini", "groq", "ollama", "bedrock", "offline"] as const;
export type ModelProvider = (typeof modelProviders)[number];

/**
 * A model candidate: which provider and model. The engine's model policy is an ordered list of
 * these plus selection rules (see core/engine/selection.ts); the tenant's default policy lives here.
 */
export const modelCandidate = z.object({
  provider: z.enum(modelProviders),
  model: z.string().min(1).max(128),
});
export type ModelCandidate = z.infer<typeof modelCandidate>;

/**
 * One selection rule: when every condition in `when` holds for the turn, the candidates in `use`
 * are tried first (in that order), then the policy's other candidates as fallbacks. Rules are
 * evaluated in order; the first match wins. Absent conditions always hold.
 */
export const selectionRule = z.object({
  name: z.string().min(1).max(64).optional(),
  when: z
    .object({
      channels: z.array(z.enum(channelKinds)).min(1).max(channelKinds.length).optional(),
      /** Messages in the conversation so far (memory window plus the new one). */
      minMessages: z.number().int().min(0).max(10_000).optional(),
      maxMessages: z.number().int().min(0).max(10_000).optional(),
      /** Estimated tokens of the prompt so far (system prompt, summary, history, new message). */
      minTokens: z.number().int().min(0).max(10_000_000).optional(),
      maxTokens: z.number().int().min(0).max(10_000_000).optional(),
      complexity: z.enum(["simple", "complex"]).optional(),
      /** Whether the agent has tools it may call this turn. */
      needsTools: z.boolean().optional(),
    })
    .strict(),
  use: z.array(modelCandidate).min(1).max(8),
});
export type SelectionRule = z.infer<typeof selectionRule>;

/**
 * An ordered list of candidates (the default order is also the fallback order) plus rules that
 * reorder them per turn. Rules may only name candidates of the policy, so the price table and the
 * budget's "cheapest candidate" always range over the same set.
 */
export const modelPolicy = z
  .object({
    candidates: z.array(modelCandidate).min(1).max(8),
    rules: z.array(selectionRule).max(20).default([]),
  })
  .superRefine((policy, ctx) => {
    const known = new Set(policy.candidates.map(candidateKey));
    policy.rules.forEach((rule, i) =>
      rule.use.forEach((candidate, j) => {
        if (!known.has(candidateKey(candidate))) {
          ctx.addIssue({ code: "custom", path: ["rules", i, "use", j], message: "a rule may only use candidates listed in the policy" });
        }
      }),
    );
  });
export type ModelPolicy = z.infer<typeof modelPolicy>;

/**
 * A policy read back from the database (`agents.model_policy`, stored as plain JSON), narrowed to
 * the type: it was validated when written; one that no longer parses (a provider since removed)
 * is treated as absent, so the tenant's default policy applies.
 */
export function storedModelPolicy(record: unknown): ModelPolicy | null {
  if (record === null || record === undefined) return null;
  const parsed = modelPolicy.safeParse(record);
  return parsed.success ? parsed.data : null;
}

/** `provider:model`, the identity of a candidate in logs, records and rules. */
export function candidateKey(candidate: ModelCandidate): string {
  return `${candidate.provider}:${candidate.model}`;
}

export const tenantBudget = z.object({
  /** Monthly spend limit in US dollars; 0 means no budget is enforced. */
  monthlyLimitUsd: z.number().nonnegative().max(1_000_000).default(0),
  /** Fraction of the limit after which the cheapest candidate is used. */
  softLimitRatio: z.number().min(0).max(1).default(0.8),
  /** What end users read once the hard limit is crossed. */
  hardLimitMessage: z.string().min(1).max(1000).default("Sorry, this assistant is unavailable right now. Please try again later."),
});

/** A sealed envelope from core/crypto/secrets.ts (`v1.<keyId>.<iv>.<ciphertext>`), never plaintext. */
const sealedSecret = z
  .string()
  .regex(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "must be a sealed secret envelope")
  .max(8192);

/**
 * The tenant's own provider keys, each sealed with `sealProviderKey` (core/engine/credentials.ts),
 * bound to the tenant and `provider:<name>`. Absent providers use the platform's environment.
 * Bedrock's envelope holds `{ accessKeyId, secretAccessKey, sessionToken? }` as JSON.
 */
export const providerKeys = z
  .object({
    openai: sealedSecret.optional(),
    gemini: sealedSecret.optional(),
    groq: sealedSecret.optional(),
    bedrock: sealedSecret.optional(),
  })
  .strict();

/**
 * The tenant's master configuration, stored in `tenants.settings` and validated on every write
 * (admin API) and read (engine). One definition for both, so they never disagree.
 */
/**
 * How long the tenant keeps conversations' messages (and transcripts): after `messagesDays` days the
 * pool's retention job deletes them, or anonymises them (content replaced, the sender and the
 * conversation's channel key dropped) so counts and costs stay. The agent's long-term memory of those
 * turns goes either way. Null: kept until deleted through the API.
 */
export const retentionPolicy = z
  .object({
    messagesDays: z.number().int().min(1).max(3650),
    mode: z.enum(["delete", "anonymise"]).default("delete"),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof retentionPolicy>;

export const tenantSettings = z.object({
  locale: z.string().min(2).max(35).refine(isLocale, "not a BCP 47 locale tag").default("en"),
  timezone: z.string().min(1).max(64).refine(isTimeZone, "not an IANA time zone").default("UTC"),
  defaultModelPolicy: modelPolicy.default({ candidates: [{ provider: "openai", model: "gpt-4o-mini" }], rules: [] }),
  budget: tenantBudget.default({
    monthlyLimitUsd: 0,
    softLimitRatio: 0.8,
    hardLimitMessage: "Sorry, this assistant is unavailable right now. Please try again later.",
  }),
  providerKeys: providerKeys.default({}),
  /** Origins allowed by CORS on the admin API, e.g. a Bubble.io app's domain. */
  allowedOrigins: z
    .array(
      z
        .url({ protocol: /^https?$/ })
        .max(255)
        // Browsers send `Origin: https://app.example.com` (no path, no trailing slash): store that form.
        .transform((url) => new URL(url).origin),
    )
    .max(20)
    .transform((origins) => [...new Set(origins)])
    .default([]),
  /**
   * Roles (by name) whose members may approve an integration call that moves money back (a Stripe
   * refund): such calls run only after one of them approves in the approvals queue, never on the
   * end user's confirmation alone.
   */
  refundApproverRoles: z.array(z.string().trim().min(1).max(64)).max(20).default(["admin"]),
  /**
   * Publishing an agent version (`POST /v1/agents/{id}/publish`, `PATCH …?publish=true`) needs the
   * newest finished test run of that version to have passed. A rollback is exempt: it is how a
   * broken release is undone in a hurry.
   */
  requireTestsToPublish: z.boolean().default(false),
  /**
   * The reply to a person once the plan's monthly conversations or model tokens are used up (their
   * message is still stored and shown in the inbox). Lifted by upgrading the plan.
   */
  planLimitMessage: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    .default("Sorry, we cannot answer new messages here right now. Please try again later or contact us another way."),
  retention: retentionPolicy.nullable().default(null),
});

function isLocale(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type TenantSettings = z.infer<typeof tenantSettings>;
export type TenantBudget = z.infer<typeof tenantBudget>;

/** Reads stored settings leniently: missing fields take their defaults. */
export function readTenantSettings(stored: unknown): TenantSettings {
  return tenantSettings.parse(stored ?? {});
}
