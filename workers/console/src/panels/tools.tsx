import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, parseJsonField, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, Empty, ErrorNotice, Field, Loaded, Page, Form } from "../ui";

type Tool = Schemas["Tool"];

/** Tools: list, create, enable/disable, a test run, OpenAPI import, and the approval queue. */
export function ToolsPanel() {
  const { t } = useI18n();
  const { can } = useMe();
  const tools = useQuery({ queryKey: ["tools"], queryFn: () => unwrap(api.GET("/v1/tools", { params: { query: { limit: 100 } } })) });
  const [mode, setMode] = useState<"" | "create" | "import">("");
  return (
    <Page
      title={t("tools.title")}
      actions={
        can("tools:write") ? (
          <>
            <button onClick={() => setMode(mode === "create" ? "" : "create")}>{t("tools.new")}</button>
            <button className="secondary" onClick={() => setMode(mode === "import" ? "" : "import")}>
              {t("tools.import")}
            </button>
          </>
        ) : null
      }
    >
      {mode === "create" ? <ToolForm onDone={() => setMode("")} /> : null}
      {mode === "import" ? <ImportTools onDone={() => setMode("")} /> : null}
      <Loaded query={tools}>
        {(page) =>
          page.data.length === 0 ? <Empty>{t("tools.none")}</Empty> : page.data.map((tool) => <ToolRow key={tool.id} tool={tool} />)
        }
      </Loaded>
      <Approvals />
    </Page>
  );
}

function ToolRow({ tool }: { tool: Tool }) {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const [args, setArgs] = useState("{}");
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({
    mutationFn: () =>
      tool.enabled
        ? unwrap(api.POST("/v1/tools/{toolId}/disable", { params: { path: { toolId: tool.id } } }))
        : unwrap(api.POST("/v1/tools/{toolId}/enable", { params: { path: { toolId: tool.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["tools"] }),
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/tools/{toolId}", { params: { path: { toolId: tool.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["tools"] }),
  });
  const test = useMutation({
    mutationFn: async () => {
      const parsed = parseJsonField<Record<string, unknown>>(args, "arguments");
      return unwrap(api.POST("/v1/tools/{toolId}/test", { params: { path: { toolId: tool.id } }, body: { arguments: parsed } }));
    },
  });
  if (editing) return <ToolForm tool={tool} onDone={() => setEditing(false)} />;
  return (
    <article className="card tool">
      <header className="page-header">
        <h2>
          <code>{tool.name}</code>
        </h2>
        <div className="actions">
          <Badge tone={tool.enabled ? "good" : "neutral"}>{tool.enabled ? t("tools.enabled") : t("tools.disabled")}</Badge>
          {tool.requiresApproval ? <Badge tone="warn">{t("tools.approval")}</Badge> : null}
        </div>
      </header>
      <p>{tool.description}</p>
      <p className="muted">
        <code>
          {tool.method} {tool.urlTemplate}
        </code>
      </p>
      <details>
        <summary>{t("tools.testRun")}</summary>
        <Form onSubmit={() => test.mutate()}>
          <Field label={t("tools.arguments")} path="arguments" error={test.error}>
            <textarea rows={3} value={args} onChange={(e) => setArgs(e.target.value)} />
          </Field>
          <button type="submit" disabled={test.isPending || !can("tools:write")}>
            {t("tools.run")}
          </button>
        </Form>
        <ErrorNotice error={test.error} />
        {test.data ? (
          <div className="result" role="status">
            <Badge tone={test.data.ok ? "good" : "bad"}>{test.data.outcome}</Badge> {test.data.latencyMs} ms
            {test.data.request ? (
              <pre>
                {test.data.request.method} {test.data.request.url}
              </pre>
            ) : null}
            {test.data.response ? <pre>{`${test.data.response.status}\n${test.data.response.body}`}</pre> : null}
          </div>
        ) : null}
      </details>
      <div className="actions">
        {can("tools:write") ? (
          <button className="secondary" onClick={() => setEditing(true)}>
            {t("common.edit")}
          </button>
        ) : null}
        {can("tools:write") ? (
          <button className="secondary" onClick={() => toggle.mutate()} disabled={toggle.isPending}>
            {tool.enabled ? t("tools.disable") : t("tools.enable")}
          </button>
        ) : null}
        {can("tools:delete") ? (
          <button className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
            {t("common.delete")}
          </button>
        ) : null}
      </div>
      <ErrorNotice error={toggle.error ?? remove.error} />
    </article>
  );
}

/** Creates a tool, or edits one (a PATCH of the fields shown; its credentials are kept). */
function ToolForm({ tool, onDone }: { tool?: Tool; onDone(): void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState({
    name: tool?.name ?? "",
    description: tool?.description ?? "",
    method: (tool?.method ?? "GET") as Schemas["CreateTool"]["method"],
    urlTemplate: tool?.urlTemplate ?? "https://",
    parameters: tool ? JSON.stringify(tool.parameters, null, 2) : '{\n  "type": "object",\n  "properties": {}\n}',
    timeoutMs: String(tool?.timeoutMs ?? 10_000),
    requiresApproval: tool?.requiresApproval ?? false,
  });
  const save = useMutation({
    mutationFn: async () => {
      const body = {
        name: draft.name,
        description: draft.description,
        method: draft.method,
        urlTemplate: draft.urlTemplate,
        parameters: parseJsonField<Schemas["CreateTool"]["parameters"]>(draft.parameters, "parameters"),
        timeoutMs: Number(draft.timeoutMs),
        requiresApproval: draft.requiresApproval,
      };
      return tool
        ? unwrap(api.PATCH("/v1/tools/{toolId}", { params: { path: { toolId: tool.id } }, body }))
        : unwrap(api.POST("/v1/tools", { body }));
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["tools"] });
      onDone();
    },
  });
  return (
    <Form className="card" onSubmit={() => save.mutate()}>
      <h2>{tool ? t("tools.editTitle", { name: tool.name }) : t("tools.new")}</h2>
      <Field label={t("common.name")} path="name" error={save.error} hint={t("tools.nameHint")}>
        <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
      </Field>
      <Field label={t("tools.description")} path="description" error={save.error}>
        <input value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
      </Field>
      <div className="row">
        <Field label={t("tools.method")} path="method" error={save.error}>
          <select value={draft.method} onChange={(e) => setDraft({ ...draft, method: e.target.value as typeof draft.method })}>
            {["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </Field>
        <Field label={t("tools.url")} path="urlTemplate" error={save.error}>
          <input value={draft.urlTemplate} onChange={(e) => setDraft({ ...draft, urlTemplate: e.target.value })} />
        </Field>
        <Field label={t("tools.timeout")} path="timeoutMs" error={save.error}>
          <input type="number" value={draft.timeoutMs} onChange={(e) => setDraft({ ...draft, timeoutMs: e.target.value })} />
        </Field>
      </div>
      <Field label={t("tools.parameters")} path="parameters" error={save.error}>
        <textarea rows={5} value={draft.parameters} onChange={(e) => setDraft({ ...draft, parameters: e.target.value })} />
      </Field>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.requiresApproval}
          onChange={(e) => setDraft({ ...draft, requiresApproval: e.target.checked })}
        />{" "}
        {t("tools.requiresApproval")}
      </label>
      <ErrorNotice error={save.error} />
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {tool ? t("common.save") : t("common.create")}
        </button>
        {tool ? (
          <button type="button" className="secondary" onClick={onDone}>
            {t("common.cancel")}
          </button>
        ) : null}
      </div>
    </Form>
  );
}

function ImportTools({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [url, setUrl] = useState("");
  const [document, setDocument] = useState("");
  const run = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/tools/import", { body: document.trim() ? { document } : { url } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["tools"] });
      onDone();
    },
  });
  return (
    <Form className="card" onSubmit={() => run.mutate()}>
      <h2>{t("tools.import")}</h2>
      <Field label={t("tools.importUrl")} path="url" error={run.error}>
        <input value={url} onChange={(e) => setUrl(e.target.value)} />
      </Field>
      <Field label={t("tools.importDocument")} path="document" error={run.error}>
        <textarea rows={6} value={document} onChange={(e) => setDocument(e.target.value)} />
      </Field>
      <ErrorNotice error={run.error} />
      <button type="submit" disabled={run.isPending}>
        {t("tools.import")}
      </button>
    </Form>
  );
}

function Approvals() {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const approvals = useQuery({
    queryKey: ["approvals"],
    queryFn: () => unwrap(api.GET("/v1/tools/approvals", { params: { query: { limit: 50 } } })),
    refetchInterval: 5_000,
  });
  const decide = useMutation({
    mutationFn: (input: { id: string; approve: boolean }) =>
      input.approve
        ? unwrap(api.POST("/v1/tools/approvals/{approvalId}/approve", { params: { path: { approvalId: input.id } } }))
        : unwrap(api.POST("/v1/tools/approvals/{approvalId}/reject", { params: { path: { approvalId: input.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["approvals"] }),
  });
  return (
    <section className="card" aria-labelledby="approvals-title">
      <h2 id="approvals-title">{t("tools.approvals")}</h2>
      <ErrorNotice error={decide.error} />
      <Loaded query={approvals}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>{t("tools.noApprovals")}</Empty>
          ) : (
            <ul className="approvals">
              {page.data.map((a) => (
                <li key={a.id}>
                  <code>{a.integrationTool ?? a.toolId}</code> <Badge>{t(`tools.approvalStatus.${a.status}`)}</Badge>{" "}
                  {formatDate(a.createdAt)}
                  <pre>{JSON.stringify(a.arguments, null, 2)}</pre>
                  {a.status === "pending" && can("tools:write") ? (
                    <div className="actions">
                      <button className="small" onClick={() => decide.mutate({ id: a.id, approve: true })}>
                        {t("tools.approve")}
                      </button>
                      <button className="small danger" onClick={() => decide.mutate({ id: a.id, approve: false })}>
                        {t("tools.reject")}
                      </button>
                    </div>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </section>
  );
}
