import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, ErrorNotice, Field, Loaded, Page, Form } from "../ui";

type Integration = Schemas["Integration"];

/** The catalogue as cards: connect by OAuth (a pop-up to the provider) or with a token, test, disconnect. */
export function IntegrationsPanel() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const catalogue = useQuery({ queryKey: ["integrations"], queryFn: () => unwrap(api.GET("/v1/integrations")) });
  // The OAuth callback page tells its opener how it went (postMessage); the list is fetched again.
  useEffect(() => {
    const listener = (event: MessageEvent) => {
      if (event.origin === location.origin) void queryClient.invalidateQueries({ queryKey: ["integrations"] });
    };
    window.addEventListener("message", listener);
    return () => window.removeEventListener("message", listener);
  }, [queryClient]);
  return (
    <Page title={t("integrations.title")}>
      <Loaded query={catalogue}>
        {(data) => (
          <div className="cards">
            {data.data.map((entry) => (
              <IntegrationCard key={entry.provider} entry={entry} />
            ))}
          </div>
        )}
      </Loaded>
    </Page>
  );
}

function IntegrationCard({ entry }: { entry: Integration }) {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["integrations"] });
  const [tokenForm, setTokenForm] = useState(false);
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const connection = entry.connection;
  const oauth = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/integrations/{provider}/connect", { params: { path: { provider: entry.provider } }, body: { method: "oauth" } }),
      ),
    onSuccess: (result) => {
      if ("authorizationUrl" in result) window.open(result.authorizationUrl, `connect-${entry.provider}`, "width=600,height=720");
    },
  });
  const token = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/integrations/{provider}/connect", {
          params: { path: { provider: entry.provider } },
          body: { method: "token", credentials },
        }),
      ),
    onSuccess: () => {
      setCredentials({});
      setTokenForm(false);
      void refresh();
    },
  });
  const test = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST("/v1/integration-connections/{connectionId}/test", { params: { path: { connectionId: id } } })),
    onSettled: () => void refresh(),
  });
  const disconnect = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/v1/integration-connections/{connectionId}", { params: { path: { connectionId: id } } })),
    onSuccess: () => void refresh(),
  });
  const account = connection ? Object.entries(connection.account).filter(([, v]) => typeof v === "string" || typeof v === "number") : [];

  return (
    <article className="card integration" aria-labelledby={`int-${entry.provider}`} data-provider={entry.provider}>
      <header>
        <h2 id={`int-${entry.provider}`}>{entry.name}</h2>
        {connection ? (
          <Badge tone={connection.status === "active" ? "good" : "warn"}>{t(`integrations.status.${connection.status}`)}</Badge>
        ) : (
          <Badge>{t("integrations.notConnected")}</Badge>
        )}
      </header>
      <p>{entry.description}</p>
      {connection ? (
        <dl className="facts">
          {account.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>{String(value)}</dd>
            </div>
          ))}
          <div>
            <dt>{t("integrations.method")}</dt>
            <dd>{connection.authMethod}</dd>
          </div>
          <div>
            <dt>{t("common.updated")}</dt>
            <dd>{formatDate(connection.updatedAt)}</dd>
          </div>
          {connection.lastError ? (
            <div>
              <dt>{t("integrations.lastError")}</dt>
              <dd className="error">{connection.lastError}</dd>
            </div>
          ) : null}
        </dl>
      ) : null}
      <details>
        <summary>{t("integrations.toolsCount", { count: entry.tools.length })}</summary>
        <ul>
          {entry.tools.map((tool) => (
            <li key={tool.name}>
              <code>{tool.name}</code> {tool.description} {tool.requiresApproval ? <Badge tone="warn">{t("tools.approval")}</Badge> : null}
            </li>
          ))}
        </ul>
      </details>
      <div className="actions">
        {can("integrations:write") && entry.oauth.available && connection?.status !== "active" ? (
          <button onClick={() => oauth.mutate()} disabled={oauth.isPending}>
            {connection ? t("integrations.reconnect") : t("integrations.connect")}
          </button>
        ) : null}
        {can("integrations:write") && !connection ? (
          <button className="secondary" onClick={() => setTokenForm(!tokenForm)} aria-expanded={tokenForm}>
            {t("integrations.useToken", { label: entry.token.label })}
          </button>
        ) : null}
        {connection && can("integrations:write") ? (
          <button className="secondary" onClick={() => test.mutate(connection.id)} disabled={test.isPending}>
            {t("integrations.test")}
          </button>
        ) : null}
        {connection && can("integrations:delete") ? (
          <button className="danger" onClick={() => disconnect.mutate(connection.id)} disabled={disconnect.isPending}>
            {t("integrations.disconnect")}
          </button>
        ) : null}
      </div>
      {test.data ? (
        <p className={test.data.ok ? "ok" : "error"} role="status">
          {test.data.detail}
        </p>
      ) : null}
      {tokenForm ? (
        <Form onSubmit={() => token.mutate()}>
          {entry.token.fields.map((field) => (
            <Field key={field} label={field} path={`credentials.${field}`} error={token.error}>
              <input
                type="password"
                autoComplete="off"
                value={credentials[field] ?? ""}
                onChange={(e) => setCredentials({ ...credentials, [field]: e.target.value })}
              />
            </Field>
          ))}
          <button type="submit" disabled={token.isPending}>
            {t("integrations.connect")}
          </button>
        </Form>
      ) : null}
      <ErrorNotice error={oauth.error ?? token.error ?? test.error ?? disconnect.error} />
    </article>
  );
}
