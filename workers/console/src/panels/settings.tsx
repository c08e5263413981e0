import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, ErrorNotice, Field, Loaded, Page, Form } from "../ui";
import { ModelPolicyEditor, policyDraftOf, policyOf } from "./model-policy";

type Provider = keyof Schemas["ProviderKeyStatus"];

/** Master configuration: tenant settings, the default model policy, budget, CORS origins and the tenant's own model provider keys (never shown back). */
export function SettingsPanel() {
  const { t } = useI18n();
  const tenant = useQuery({ queryKey: ["tenant"], queryFn: () => unwrap(api.GET("/v1/tenant")) });
  return (
    <Page title={t("settings.title")}>
      <Loaded query={tenant}>{(data) => <TenantForm tenant={data} />}</Loaded>
      <ProviderKeys />
      <Loaded query={tenant}>{(data) => <TenantDeletion tenant={data} />}</Loaded>
    </Page>
  );
}

function TenantForm({ tenant }: { tenant: Schemas["TenantConfig"] }) {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState({
    name: tenant.name,
    locale: tenant.locale,
    timezone: tenant.timezone,
    monthlyLimitUsd: String(tenant.budget.monthlyLimitUsd),
    softLimitRatio: String(tenant.budget.softLimitRatio),
    hardLimitMessage: tenant.budget.hardLimitMessage,
    allowedOrigins: tenant.allowedOrigins.join("\n"),
    policy: policyDraftOf(tenant.defaultModelPolicy),
    requireTestsToPublish: tenant.requireTestsToPublish,
    retentionDays: tenant.retention ? String(tenant.retention.messagesDays) : "",
    retentionMode: tenant.retention?.mode ?? "delete",
  });
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/tenant", {
          body: {
            name: draft.name,
            locale: draft.locale,
            timezone: draft.timezone,
            budget: {
              monthlyLimitUsd: Number(draft.monthlyLimitUsd),
              softLimitRatio: Number(draft.softLimitRatio),
              hardLimitMessage: draft.hardLimitMessage,
            },
            allowedOrigins: draft.allowedOrigins
              .split(/\s+/)
              .map((o) => o.trim())
              .filter(Boolean),
            defaultModelPolicy: policyOf(draft.policy) ?? undefined,
            requireTestsToPublish: draft.requireTestsToPublish,
            // Empty: kept until deleted through the API.
            retention: draft.retentionDays.trim()
              ? { messagesDays: Number(draft.retentionDays), mode: draft.retentionMode === "anonymise" ? "anonymise" : "delete" }
              : null,
          },
        }),
      ),
    onSuccess: (saved) => queryClient.setQueryData(["tenant"], saved),
  });
  const set =
    (key: Exclude<keyof typeof draft, "policy" | "requireTestsToPublish" | "retentionMode">) =>
    (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
      setDraft({ ...draft, [key]: e.target.value });
  return (
    <Form className="card" onSubmit={() => save.mutate()}>
      <fieldset disabled={!can("settings:write")}>
        <legend>{t("settings.tenant")}</legend>
        <Field label={t("common.name")} path="name" error={save.error}>
          <input value={draft.name} onChange={set("name")} />
        </Field>
        <div className="row">
          <Field label={t("settings.locale")} path="locale" error={save.error}>
            <input value={draft.locale} onChange={set("locale")} />
          </Field>
          <Field label={t("settings.timezone")} path="timezone" error={save.error}>
            <input value={draft.timezone} onChange={set("timezone")} />
          </Field>
        </div>
        <div className="row">
          <Field label={t("settings.monthlyLimit")} path="budget.monthlyLimitUsd" error={save.error}>
            <input type="number" min="0" step="1" value={draft.monthlyLimitUsd} onChange={set("monthlyLimitUsd")} />
          </Field>
          <Field label={t("settings.softLimit")} path="budget.softLimitRatio" error={save.error} hint={t("settings.softLimitHint")}>
            <input type="number" min="0" max="1" step="0.05" value={draft.softLimitRatio} onChange={set("softLimitRatio")} />
          </Field>
        </div>
        <Field label={t("settings.hardLimitMessage")} path="budget.hardLimitMessage" error={save.error}>
          <input value={draft.hardLimitMessage} onChange={set("hardLimitMessage")} />
        </Field>
        <Field label={t("settings.allowedOrigins")} path="allowedOrigins" error={save.error} hint={t("settings.allowedOriginsHint")}>
          <textarea rows={3} value={draft.allowedOrigins} onChange={set("allowedOrigins")} />
        </Field>
        <div className="row">
          <Field label={t("settings.retentionDays")} path="retention.messagesDays" error={save.error} hint={t("settings.retentionHint")}>
            <input type="number" min="1" max="3650" step="1" value={draft.retentionDays} onChange={set("retentionDays")} />
          </Field>
          <Field label={t("settings.retentionMode")} path="retention.mode" error={save.error}>
            <select
              value={draft.retentionMode}
              onChange={(e) => setDraft({ ...draft, retentionMode: e.target.value as "delete" | "anonymise" })}
            >
              <option value="delete">{t("settings.retentionDelete")}</option>
              <option value="anonymise">{t("settings.retentionAnonymise")}</option>
            </select>
          </Field>
        </div>
        <label className="check">
          <input
            type="checkbox"
            checked={draft.requireTestsToPublish}
            onChange={(e) => setDraft({ ...draft, requireTestsToPublish: e.target.checked })}
          />{" "}
          {t("settings.requireTests")}
        </label>
        <ModelPolicyEditor
          draft={draft.policy}
          onChange={(policy) => setDraft({ ...draft, policy })}
          error={save.error}
          path="defaultModelPolicy"
          inheritable={false}
        />
        <ErrorNotice error={save.error} />
        {save.isSuccess ? (
          <p className="ok" role="status">
            {t("common.saved")}
          </p>
        ) : null}
        {can("settings:write") ? <button type="submit">{t("common.save")}</button> : null}
      </fieldset>
    </Form>
  );
}

function ProviderKeys() {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const status = useQuery({ queryKey: ["provider-keys"], queryFn: () => unwrap(api.GET("/v1/tenant/provider-keys")) });
  const [provider, setProvider] = useState<Provider>("openai");
  const [apiKey, setApiKey] = useState("");
  const save = useMutation({
    mutationFn: () => unwrap(api.PUT("/v1/tenant/provider-keys/{provider}", { params: { path: { provider } }, body: { apiKey } })),
    onSuccess: () => {
      setApiKey("");
      void queryClient.invalidateQueries({ queryKey: ["provider-keys"] });
    },
  });
  const remove = useMutation({
    mutationFn: (which: Provider) => unwrap(api.DELETE("/v1/tenant/provider-keys/{provider}", { params: { path: { provider: which } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["provider-keys"] }),
  });
  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">{t("settings.providerKeys")}</h2>
      <p className="muted">{t("settings.providerKeysLead")}</p>
      <Loaded query={status}>
        {(data) => (
          <ul className="keys">
            {(Object.keys(data) as Provider[]).map((name) => (
              <li key={name}>
                <strong>{name}</strong>{" "}
                {data[name].configured ? (
                  <>
                    <Badge tone="good">{t("settings.keyConfigured")}</Badge> <code aria-label={t("settings.keyMasked")}>••••••••</code>{" "}
                    {can("settings:write") ? (
                      <button className="small" onClick={() => remove.mutate(name)}>
                        {t("settings.keyRemove")}
                      </button>
                    ) : null}
                  </>
                ) : (
                  <Badge>{t("settings.keyPlatform")}</Badge>
                )}
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      <ErrorNotice error={remove.error} />
      {can("settings:write") ? (
        <Form className="row" onSubmit={() => save.mutate()}>
          <Field label={t("settings.provider")}>
            <select value={provider} onChange={(e) => setProvider(e.target.value as Provider)}>
              <option value="openai">openai</option>
              <option value="gemini">gemini</option>
              <option value="groq">groq</option>
            </select>
          </Field>
          <Field label={t("settings.apiKey")} path="apiKey" error={save.error}>
            <input type="password" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.target.value)} />
          </Field>
          <button type="submit" disabled={save.isPending}>
            {t("settings.keySave")}
          </button>
          <ErrorNotice error={save.error} />
        </Form>
      ) : null}
    </section>
  );
}

/** Deleting the tenant (typed name; restorable until the purge date) and restoring it. Admins only. */
function TenantDeletion({ tenant }: { tenant: Schemas["TenantConfig"] }) {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const [confirmName, setConfirmName] = useState("");
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["tenant"] });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/tenant", { body: { confirmName } })),
    onSuccess: refresh,
  });
  const restore = useMutation({ mutationFn: () => unwrap(api.POST("/v1/tenant/restore")), onSuccess: refresh });
  if (!can("settings:delete")) return null;
  return (
    <section className="card">
      <h2>{t("settings.deleteTitle")}</h2>
      {tenant.deletion ? (
        <>
          <p className="error" role="status">
            {t("settings.deletePending", { date: formatDate(tenant.deletion.purgeAfter) })}
          </p>
          <button type="button" onClick={() => restore.mutate()} disabled={restore.isPending}>
            {t("settings.restore")}
          </button>
          <ErrorNotice error={restore.error} />
        </>
      ) : (
        <Form onSubmit={() => remove.mutate()}>
          <p className="muted small">{t("settings.deleteHint")}</p>
          <Field label={t("settings.deleteConfirm", { name: tenant.name })} path="confirmName" error={remove.error}>
            <input value={confirmName} onChange={(e) => setConfirmName(e.target.value)} autoComplete="off" />
          </Field>
          <button type="submit" className="danger" disabled={remove.isPending || confirmName.trim() === ""}>
            {t("settings.delete")}
          </button>
          <ErrorNotice error={remove.error} />
        </Form>
      )}
    </section>
  );
}
