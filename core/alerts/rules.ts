import { and, eq } from "drizzle-orm";
import { alertRules, type AlertRule } from "../../db/schema";
import { recordAudit } from "../access/audit";
import type { AccessContext } from "../access/context";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { iso } from "../access/schemas";
import { encryptSecret, type Keyring } from "../crypto/secrets";
import { bareHost, checkUrlLiteral, effectivePort, isAllowlisted, type OutboundPolicy } from "../http/url-policy";
import type { AlertRuleDto, CreateAlertRuleInput, UpdateAlertRuleInput } from "./schemas";
import { newSigningSecret } from "./signature";
import { InvalidRequestError, NotFoundError, secretsUnavailable } from "../errors";

export function toAlertRuleDto(rule: AlertRule): AlertRuleDto {
  return {
    id: rule.id,
    name: rule.name,
    condition: rule.condition,
    delivery: rule.delivery,
    enabled: rule.enabled,
    state: rule.state,
    lastEvaluatedAt: iso(rule.lastEvaluatedAt),
    lastFiredAt: iso(rule.lastFiredAt),
    createdAt: iso(rule.createdAt)!,
    updatedAt: iso(rule.updatedAt)!,
  };
}

/** The secret-sealing context of a rule's webhook signing secret. */
export const signingSecretOwner = (ruleId: string) => `alert-rule:${ruleId}`;

/**
 * What a webhook target may be: HTTPS to a public host (the SSRF policy of core/http, checked
 * again against DNS answers when delivering). `allowedHosts` names exceptions (loopback receivers
 * in tests and local runs), which may also use plain HTTP.
 */
export function checkWebhookUrl(url: string, policy: OutboundPolicy = {}): void {
  let parsed: URL;
  try {
    parsed = checkUrlLiteral(url, policy);
  } catch (error) {
    throw new InvalidRequestError(`The webhook URL is not allowed: ${(error as Error).message}`);
  }
  const allowlisted = isAllowlisted(policy, bareHost(parsed), effectivePort(parsed));
  if (parsed.protocol !== "https:" && !allowlisted) throw new InvalidRequestError("The webhook URL must use https.");
}

async function findRule(ctx: AccessContext, ruleId: string): Promise<AlertRule> {
  const [rule] = await ctx.tx
    .select()
    .from(alertRules)
    .where(and(eq(alertRules.tenantId, ctx.tenantId), eq(alertRules.id, ruleId)));
  if (!rule) throw new NotFoundError("alert rule");
  return rule;
}

export async function listAlertRules({ ctx, input }: { ctx: AccessContext; input: PageInput }): Promise<Page<AlertRuleDto>> {
  requirePermission(ctx, "analytics:read");
  const page = keyset(alertRules, input);
  const rows = await ctx.tx
    .select({ rule: alertRules, id: alertRules.id, cursorAt: page.cursorColumn })
    .from(alertRules)
    .where(and(eq(alertRules.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toAlertRuleDto(row.rule));
}

export async function getAlertRule({ ctx, input }: { ctx: AccessContext; input: { alertRuleId: string } }): Promise<AlertRuleDto> {
  requirePermission(ctx, "analytics:read");
  return toAlertRuleDto(await findRule(ctx, input.alertRuleId));
}

/** Webhook signing secrets are sealed with `ctx.services.keyring`: a webhook rule cannot be made without it (503). */
function keyringOf(ctx: AccessContext): Keyring {
  if (!ctx.services?.keyring) throw secretsUnavailable();
  return ctx.services.keyring;
}

/** Creates a rule; a webhook rule gets a signing secret, returned this once and stored sealed. */
export const createAlertRule = async ({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: CreateAlertRuleInput;
}): Promise<AlertRuleDto & { signingSecret?: string }> => {
  requirePermission(ctx, "analytics:write");
  const id = crypto.randomUUID();
  let signingSecret: string | undefined;
  let secretSealed: string | null = null;
  if (input.delivery.channel === "webhook") {
    checkWebhookUrl(input.delivery.url, ctx.services?.alertWebhookPolicy);
    signingSecret = newSigningSecret();
    secretSealed = await encryptSecret(keyringOf(ctx), { tenantId: ctx.tenantId, owner: signingSecretOwner(id) }, signingSecret);
  }
  const [rule] = await ctx.tx
    .insert(alertRules)
    .values({
      id,
      tenantId: ctx.tenantId,
      name: input.name,
      condition: input.condition,
      delivery: input.delivery,
      enabled: input.enabled,
      secretSealed,
    })
    .returning();
  const dto = toAlertRuleDto(rule!);
  await recordAudit(ctx, { action: "alert_rule.create", resourceType: "alert_rule", resourceId: id, after: dto });
  return signingSecret ? { ...dto, signingSecret } : dto;
};

/** Changes a rule; switching to a webhook (or to another webhook URL) issues a new signing secret. */
export const updateAlertRule = async ({
  ctx,
  input,
}: {
  ctx: AccessContext;
  input: UpdateAlertRuleInput & { alertRuleId: string };
}): Promise<AlertRuleDto & { signingSecret?: string }> => {
  requirePermission(ctx, "analytics:write");
  const current = await findRule(ctx, input.alertRuleId);
  let signingSecret: string | undefined;
  let secretSealed = current.secretSealed;
  if (input.delivery?.channel === "webhook") {
    checkWebhookUrl(input.delivery.url, ctx.services?.alertWebhookPolicy);
    if (current.delivery.channel !== "webhook" || current.delivery.url !== input.delivery.url || !current.secretSealed) {
      signingSecret = newSigningSecret();
      secretSealed = await encryptSecret(keyringOf(ctx), { tenantId: ctx.tenantId, owner: signingSecretOwner(current.id) }, signingSecret);
    }
  } else if (input.delivery?.channel === "email") {
    secretSealed = null;
  }
  const [updated] = await ctx.tx
    .update(alertRules)
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.condition ? { condition: input.condition, state: "ok" as const } : {}),
      ...(input.delivery ? { delivery: input.delivery } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      secretSealed,
      updatedAt: new Date(),
    })
    .where(and(eq(alertRules.tenantId, ctx.tenantId), eq(alertRules.id, current.id)))
    .returning();
  const after = toAlertRuleDto(updated!);
  await recordAudit(ctx, {
    action: "alert_rule.update",
    resourceType: "alert_rule",
    resourceId: current.id,
    before: toAlertRuleDto(current),
    after,
  });
  return signingSecret ? { ...after, signingSecret } : after;
};

export async function deleteAlertRule({ ctx, input }: { ctx: AccessContext; input: { alertRuleId: string } }): Promise<void> {
  requirePermission(ctx, "analytics:delete");
  const current = await findRule(ctx, input.alertRuleId);
  await ctx.tx.delete(alertRules).where(and(eq(alertRules.tenantId, ctx.tenantId), eq(alertRules.id, current.id)));
  await recordAudit(ctx, {
    action: "alert_rule.delete",
    resourceType: "alert_rule",
    resourceId: current.id,
    before: toAlertRuleDto(current),
  });
}
