import type { Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { Field } from "../ui";

type Policy = NonNullable<Schemas["CreateAgent"]["modelPolicy"]>;
type Candidate = Policy["candidates"][number];
type Rule = NonNullable<Policy["rules"]>[number];
type ChannelKind = NonNullable<Rule["when"]["channels"]>[number];

export const PROVIDERS = ["offline", "openai", "gemini", "groq", "ollama", "bedrock"] as const;
const CHANNELS: ChannelKind[] = ["webchat", "telegram", "whatsapp", "email", "sms", "voice"];
const NUMBERS = ["minMessages", "maxMessages", "minTokens", "maxTokens"] as const;

/** A rule as the form holds it: numbers as typed, "use" as candidate keys. */
interface RuleDraft {
  name: string;
  channels: ChannelKind[];
  numbers: Record<(typeof NUMBERS)[number], string>;
  complexity: "" | "simple" | "complex";
  needsTools: "" | "yes" | "no";
  use: string[];
}

/** The editor's state: the tenant's default, or the agent's own candidates (in fallback order) and rules. */
export interface PolicyDraft {
  own: boolean;
  candidates: Candidate[];
  rules: RuleDraft[];
}

const keyOf = (candidate: Candidate) => `${candidate.provider}:${candidate.model}`;

export function policyDraftOf(policy: Policy | null | undefined): PolicyDraft {
  if (!policy) return { own: false, candidates: [{ provider: "openai", model: "gpt-4o-mini" }], rules: [] };
  return {
    own: true,
    candidates: policy.candidates,
    rules: (policy.rules ?? []).map((rule) => ({
      name: rule.name ?? "",
      channels: rule.when.channels ?? [],
      numbers: Object.fromEntries(NUMBERS.map((n) => [n, rule.when[n] === undefined ? "" : String(rule.when[n])])) as RuleDraft["numbers"],
      complexity: rule.when.complexity ?? "",
      needsTools: rule.when.needsTools === undefined ? "" : rule.when.needsTools ? "yes" : "no",
      use: rule.use.map(keyOf),
    })),
  };
}

/** The policy to save (null: the tenant's default applies); the API checks it and reports issues by path. */
export function policyOf(draft: PolicyDraft): Policy | null {
  if (!draft.own) return null;
  const byKey = new Map(draft.candidates.map((candidate) => [keyOf(candidate), candidate]));
  return {
    candidates: draft.candidates,
    rules: draft.rules.map((rule) => {
      const when: Rule["when"] = {};
      if (rule.channels.length) when.channels = rule.channels;
      for (const n of NUMBERS) if (rule.numbers[n].trim() !== "") when[n] = Number(rule.numbers[n]);
      if (rule.complexity) when.complexity = rule.complexity;
      if (rule.needsTools) when.needsTools = rule.needsTools === "yes";
      return {
        ...(rule.name.trim() ? { name: rule.name.trim() } : {}),
        when,
        use: rule.use.map((key) => byKey.get(key)).filter((c): c is Candidate => Boolean(c)),
      };
    }),
  };
}

/**
 * The model policy editor: the candidates in fallback order, and rules that put some of them first
 * when a turn matches (channel, conversation length, prompt size, complexity, whether tools are
 * needed). Field errors from the API appear where they belong (`${path}.rules.0.use.0`...).
 */
export function ModelPolicyEditor({
  draft,
  onChange,
  error,
  path = "modelPolicy",
  inheritable = true,
}: {
  draft: PolicyDraft;
  onChange(next: PolicyDraft): void;
  error: unknown;
  /** Where the policy sits in the request body, for the API's field issues. */
  path?: string;
  /** An agent may use the tenant's default instead; the tenant's default itself may not. */
  inheritable?: boolean;
}) {
  const { t } = useI18n();
  const setCandidate = (i: number, next: Partial<Candidate>) =>
    onChange({ ...draft, candidates: draft.candidates.map((c, j) => (j === i ? { ...c, ...next } : c)) });
  const move = <T,>(list: T[], i: number, by: number): T[] => {
    const next = [...list];
    const [item] = next.splice(i, 1);
    next.splice(Math.max(0, Math.min(next.length, i + by)), 0, item!);
    return next;
  };
  const setRule = (i: number, next: Partial<RuleDraft>) =>
    onChange({ ...draft, rules: draft.rules.map((r, j) => (j === i ? { ...r, ...next } : r)) });
  const toggled = <T,>(list: T[], value: T) => (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);

  return (
    <fieldset className="policy">
      <legend>{t("policy.title")}</legend>
      {inheritable ? (
        <label className="check">
          <input type="checkbox" checked={draft.own} onChange={(e) => onChange({ ...draft, own: e.target.checked })} /> {t("policy.own")}
        </label>
      ) : null}
      {!draft.own ? <p className="muted">{t("policy.usesDefault")}</p> : null}
      {draft.own ? (
        <>
          <p className="muted">{t("policy.candidatesHint")}</p>
          <ol className="candidates">
            {draft.candidates.map((candidate, i) => (
              <li key={i} className="row">
                <Field label={t("agents.provider")} path={`${path}.candidates.${i}.provider`} error={error}>
                  <select
                    value={candidate.provider}
                    onChange={(e) => setCandidate(i, { provider: e.target.value as Candidate["provider"] })}
                  >
                    {PROVIDERS.map((p) => (
                      <option key={p}>{p}</option>
                    ))}
                  </select>
                </Field>
                <Field label={t("agents.model")} path={`${path}.candidates.${i}.model`} error={error}>
                  <input value={candidate.model} onChange={(e) => setCandidate(i, { model: e.target.value })} />
                </Field>
                <ItemActions
                  first={i === 0}
                  onUp={() => onChange({ ...draft, candidates: move(draft.candidates, i, -1) })}
                  onRemove={
                    draft.candidates.length > 1
                      ? () => onChange({ ...draft, candidates: draft.candidates.filter((_, j) => j !== i) })
                      : undefined
                  }
                  removeLabel={t("policy.remove")}
                />
              </li>
            ))}
          </ol>
          <button
            type="button"
            className="secondary"
            disabled={draft.candidates.length >= 8}
            onClick={() => onChange({ ...draft, candidates: [...draft.candidates, { provider: "openai", model: "" }] })}
          >
            {t("policy.addCandidate")}
          </button>

          <h3>{t("policy.rules")}</h3>
          <p className="muted">{t("policy.rulesHint")}</p>
          {draft.rules.map((rule, i) => (
            <fieldset key={i} className="card rule" aria-label={t("policy.rule", { n: i + 1 })}>
              <legend>{t("policy.rule", { n: i + 1 })}</legend>
              <Field label={t("common.name")} path={`${path}.rules.${i}.name`} error={error}>
                <input value={rule.name} onChange={(e) => setRule(i, { name: e.target.value })} />
              </Field>
              <fieldset className="checklist">
                <legend>{t("policy.channels")}</legend>
                {CHANNELS.map((kind) => (
                  <label key={kind} className="check inline">
                    <input
                      type="checkbox"
                      checked={rule.channels.includes(kind)}
                      onChange={() => setRule(i, { channels: toggled(rule.channels, kind) })}
                    />{" "}
                    {kind}
                  </label>
                ))}
              </fieldset>
              <div className="row">
                {NUMBERS.map((n) => (
                  <Field key={n} label={t(`policy.${n}`)} path={`${path}.rules.${i}.when.${n}`} error={error}>
                    <input
                      type="number"
                      value={rule.numbers[n]}
                      onChange={(e) => setRule(i, { numbers: { ...rule.numbers, [n]: e.target.value } })}
                    />
                  </Field>
                ))}
              </div>
              <div className="row">
                <Field label={t("policy.complexity")} path={`${path}.rules.${i}.when.complexity`} error={error}>
                  <select value={rule.complexity} onChange={(e) => setRule(i, { complexity: e.target.value as RuleDraft["complexity"] })}>
                    <option value="">{t("policy.any")}</option>
                    <option value="simple">{t("policy.simple")}</option>
                    <option value="complex">{t("policy.complex")}</option>
                  </select>
                </Field>
                <Field label={t("policy.needsTools")} path={`${path}.rules.${i}.when.needsTools`} error={error}>
                  <select value={rule.needsTools} onChange={(e) => setRule(i, { needsTools: e.target.value as RuleDraft["needsTools"] })}>
                    <option value="">{t("policy.any")}</option>
                    <option value="yes">{t("policy.yes")}</option>
                    <option value="no">{t("policy.no")}</option>
                  </select>
                </Field>
              </div>
              <Field label={t("policy.use")} path={`${path}.rules.${i}.use`} error={error}>
                <div>
                  {draft.candidates.map((candidate) => (
                    <label key={keyOf(candidate)} className="check">
                      <input
                        type="checkbox"
                        checked={rule.use.includes(keyOf(candidate))}
                        onChange={() => setRule(i, { use: toggled(rule.use, keyOf(candidate)) })}
                      />{" "}
                      {keyOf(candidate)}
                    </label>
                  ))}
                </div>
              </Field>
              <ItemActions
                first={i === 0}
                onUp={() => onChange({ ...draft, rules: move(draft.rules, i, -1) })}
                onRemove={() => onChange({ ...draft, rules: draft.rules.filter((_, j) => j !== i) })}
                removeLabel={t("policy.removeRule")}
                danger
              />
            </fieldset>
          ))}
          <button
            type="button"
            className="secondary"
            disabled={draft.rules.length >= 20}
            onClick={() =>
              onChange({
                ...draft,
                rules: [
                  ...draft.rules,
                  {
                    name: "",
                    channels: [],
                    numbers: { minMessages: "", maxMessages: "", minTokens: "", maxTokens: "" },
                    complexity: "",
                    needsTools: "",
                    use: [],
                  },
                ],
              })
            }
          >
            {t("policy.addRule")}
          </button>
        </>
      ) : null}
    </fieldset>
  );
}

/** Move up and remove, for a candidate or a rule (remove is disabled when `onRemove` is absent). */
function ItemActions(props: { first: boolean; onUp(): void; onRemove: (() => void) | undefined; removeLabel: string; danger?: boolean }) {
  const { t } = useI18n();
  return (
    <div className="actions">
      <button type="button" className="small secondary" disabled={props.first} onClick={props.onUp}>
        {t("policy.up")}
      </button>
      <button
        type="button"
        className={`small ${props.danger ? "danger" : "secondary"}`}
        disabled={!props.onRemove}
        onClick={props.onRemove}
      >
        {props.removeLabel}
      </button>
    </div>
  );
}
