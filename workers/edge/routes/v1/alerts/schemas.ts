import { alertRuleDto, createAlertRuleInput, createdAlertRuleDto, updateAlertRuleInput } from "../../../../../core/alerts/schemas";

/** The core schemas, named for the OpenAPI document. */
export const alertRuleSchema = alertRuleDto.openapi("AlertRule");
export const createdAlertRuleSchema = createdAlertRuleDto.openapi("CreatedAlertRule");
export const createAlertRuleSchema = createAlertRuleInput.openapi("CreateAlertRule");
export const updateAlertRuleSchema = updateAlertRuleInput.openapi("UpdateAlertRule");

export const WEBHOOK_DOC = `Webhook deliveries are \`POST\`s of JSON \`{ id, type: "alert.fired", tenantId, createdAt, rule: { id, name, kind }, value, threshold, windowMinutes }\`
with \`X-Agent-Event\`, \`X-Agent-Delivery\` (the alert id: deduplicate on it) and \`X-Agent-Signature: t=<unix seconds>,v1=<hex>\`, where the hex is
HMAC-SHA256 keyed with the rule's \`signingSecret\` over \`<t>.<raw body>\`. Compare in constant time and refuse a \`t\` more than 5 minutes off.
Targets must be HTTPS on a public address; a failed delivery is retried every minute, up to 5 times.`;
