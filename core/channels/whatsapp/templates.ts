import type { WhatsAppTemplate } from "../config";
import type { GraphTemplate } from "./graph-api";

/** What a template needs filled in, read from its components as Meta lists them. */
export interface TemplateSummary {
  name: string;
  language: string;
  status: string;
  category: string | null;
  /** The header's variable kind (`text`, `image`, `video`, `document`), or null when it has none. */
  header: string | null;
  /** How many `{{n}}` variables the body has. */
  bodyVariables: number;
  /** Buttons that take a variable (a URL with `{{1}}`, a quick reply's payload), by index. */
  buttons: Array<{ index: number; type: "url" | "quick_reply" }>;
}

const variables = (text: string | undefined) => new Set(text?.match(/\{\{\s*\d+\s*\}\}/g) ?? []).size;

export function summarizeTemplate(template: GraphTemplate): TemplateSummary {
  const components = template.components ?? [];
  const header = components.find((component) => component.type.toUpperCase() === "HEADER");
  const body = components.find((component) => component.type.toUpperCase() === "BODY");
  const buttons = components.find((component) => component.type.toUpperCase() === "BUTTONS")?.buttons ?? [];
  const headerKind = header?.format?.toLowerCase();
  return {
    name: template.name,
    language: template.language,
    status: template.status,
    category: template.category ?? null,
    header: headerKind === "text" ? (variables(header?.text) ? "text" : null) : (headerKind ?? null),
    bodyVariables: variables(body?.text),
    buttons: buttons.flatMap((button, index): TemplateSummary["buttons"] => {
      const type = button.type.toUpperCase();
      if (type === "URL" && variables(button.url)) return [{ index, type: "url" as const }];
      if (type === "QUICK_REPLY") return [{ index, type: "quick_reply" as const }];
      return [];
    }),
  };
}

/** Why a configured template cannot be sent as configured, or undefined when it matches the approved one. */
export function templateMismatch(configured: WhatsAppTemplate, available: TemplateSummary[]): string | undefined {
  const found = available.find((template) => template.name === configured.name && template.language === configured.language);
  const label = `template ${configured.name} (${configured.language})`;
  if (!found) return `${label} is not in the WhatsApp Business Account`;
  if (found.status !== "APPROVED") return `${label} is ${found.status.toLowerCase()}, not approved`;
  const body = configured.body?.length ?? 0;
  if (body !== found.bodyVariables) return `${label} has ${found.bodyVariables} body variable(s); ${body} configured`;
  if ((found.header ?? null) !== (configured.header?.type ?? null)) {
    return `${label} has ${found.header ? `a ${found.header} header` : "no header variable"}; ${configured.header ? `a ${configured.header.type} one is` : "none is"} configured`;
  }
  for (const button of configured.buttons ?? []) {
    if (!found.buttons.some((candidate) => candidate.index === button.index && candidate.type === button.type)) {
      return `${label} has no ${button.type} button with a variable at index ${button.index}`;
    }
  }
  return undefined;
}

/** The turn's values a template's variables may name. */
export interface TemplateValues {
  name?: string | undefined;
  phone: string;
  reply: string;
}

/**
 * A variable's text: the turn's values filled in, on one line (Meta refuses newlines, tabs and
 * more than four spaces in a row in parameters), at most 1,024 characters.
 */
export function fillTemplateValue(value: string, values: TemplateValues): string {
  const filled = value.replace(/\{\{\s*(name|phone|reply)\s*\}\}/g, (_, key: "name" | "phone" | "reply") => values[key] ?? "");
  const flat = filled
    .replace(/[\r\n\t]+/g, " ")
    .replace(/ {4,}/g, "   ")
    .trim();
  return (flat || "-").slice(0, 1024);
}

/** The Cloud API's `template` object for a configured template, its variables filled. */
export function templateObject(template: WhatsAppTemplate, values: TemplateValues): Record<string, unknown> {
  const fill = (value: string) => fillTemplateValue(value, values);
  const components: Array<Record<string, unknown>> = [];
  const { header } = template;
  if (header?.type === "text") components.push({ type: "header", parameters: [{ type: "text", text: fill(header.text) }] });
  else if (header) {
    const media = { link: header.link, ...(header.type === "document" && header.filename ? { filename: header.filename } : {}) };
    components.push({ type: "header", parameters: [{ type: header.type, [header.type]: media }] });
  }
  if (template.body?.length)
    components.push({ type: "body", parameters: template.body.map((value) => ({ type: "text", text: fill(value) })) });
  for (const button of template.buttons ?? []) {
    components.push({
      type: "button",
      sub_type: button.type,
      index: String(button.index),
      parameters: [button.type === "url" ? { type: "text", text: fill(button.value) } : { type: "payload", payload: fill(button.value) }],
    });
  }
  return { name: template.name, language: { code: template.language }, ...(components.length ? { components } : {}) };
}
