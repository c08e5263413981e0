import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { AGENT_TEMPLATES } from "../templates";
import { Badge, Empty, ErrorNotice, Field, Loaded, Page, TableHead, Form } from "../ui";
import { Playground } from "./playground";
import { AgentTests } from "./agent-tests";
import { ModelPolicyEditor, policyDraftOf, policyOf } from "./model-policy";

type Agent = Schemas["Agent"];

export function useAgents() {
  return useQuery({ queryKey: ["agents"], queryFn: () => unwrap(api.GET("/v1/agents", { params: { query: { limit: 100 } } })) });
}

export function AgentsPanel() {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const agents = useAgents();
  const [creating, setCreating] = useState(false);
  return (
    <Page
      title={t("agents.title")}
      actions={can("agents:write") ? <button onClick={() => setCreating(!creating)}>{t("agents.new")}</button> : null}
    >
      {creating ? <NewAgent onDone={() => setCreating(false)} /> : null}
      <Loaded query={agents}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>{t("agents.none")}</Empty>
          ) : (
            <table>
              <TableHead columns={[t("common.name"), t("agents.version"), t("agents.tools"), t("common.updated")]} />
              <tbody>
                {page.data.map((agent) => (
                  <tr key={agent.id}>
                    <td>
                      <Link href={`/agents/${agent.id}`}>{agent.name}</Link>
                    </td>
                    <td>v{agent.version}</td>
                    <td>{agent.toolIds.length + agent.integrationTools.length + agent.builtinTools.length}</td>
                    <td>{formatDate(agent.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Page>
  );
}

/** A new agent from a template or blank; opens its editor. */
export function NewAgent({ onDone }: { onDone?: (agent: Agent) => void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [template, setTemplate] = useState<string>("blank");
  const [name, setName] = useState("");
  const [systemPrompt, setSystemPrompt] = useState("");
  useEffect(() => {
    const chosen = AGENT_TEMPLATES.find((tpl) => tpl.id === template);
    setName(chosen?.agent.name ?? "");
    setSystemPrompt(chosen?.agent.systemPrompt ?? "");
  }, [template]);
  const create = useMutation({
    mutationFn: () => {
      const base = AGENT_TEMPLATES.find((tpl) => tpl.id === template)?.agent;
      return unwrap(api.POST("/v1/agents", { body: { ...base, name, systemPrompt } }));
    },
    onSuccess: (agent) => {
      void queryClient.invalidateQueries({ queryKey: ["agents"] });
      onDone?.(agent);
      navigate(`/agents/${agent.id}`);
    },
  });
  return (
    <Form className="card" onSubmit={() => create.mutate()}>
      <h2>{t("agents.new")}</h2>
      <Field label={t("agents.template")}>
        <select value={template} onChange={(e) => setTemplate(e.target.value)}>
          <option value="blank">{t("agents.blank")}</option>
          {AGENT_TEMPLATES.map((tpl) => (
            <option key={tpl.id} value={tpl.id}>
              {t(tpl.title)}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t("common.name")} path="name" error={create.error}>
        <input value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label={t("agents.prompt")} path="systemPrompt" error={create.error}>
        <textarea rows={5} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
      </Field>
      <ErrorNotice error={create.error} />
      <button type="submit" disabled={create.isPending}>
        {t("common.create")}
      </button>
    </Form>
  );
}

export function AgentEditor({ agentId }: { agentId: string }) {
  const { t } = useI18n();
  const agent = useQuery({
    queryKey: ["agents", agentId],
    queryFn: () => unwrap(api.GET("/v1/agents/{agentId}", { params: { path: { agentId } } })),
  });
  return (
    <Page title={agent.data ? agent.data.name : t("agents.title")} actions={<Link href="/agents">{t("common.back")}</Link>}>
      <Loaded query={agent}>
        {(data) => (
          <>
            <AgentForm key={data.id} agent={data} />
            <Playground agent={data} />
            <Versions agent={data} />
            <AgentTests agent={data} />
          </>
        )}
      </Loaded>
    </Page>
  );
}

function AgentForm({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const editable = can("agents:write");
  const tools = useQuery({
    queryKey: ["tools"],
    queryFn: () => unwrap(api.GET("/v1/tools", { params: { query: { limit: 100 } } })),
    enabled: can("tools:read"),
  });
  const integrations = useQuery({
    queryKey: ["integrations"],
    queryFn: () => unwrap(api.GET("/v1/integrations")),
    enabled: can("integrations:read"),
  });
  const bases = useQuery({
    queryKey: ["knowledge-bases"],
    queryFn: () => unwrap(api.GET("/v1/knowledge-bases", { params: { query: { limit: 100 } } })),
    enabled: can("knowledge:read"),
  });
  const [draft, setDraft] = useState(() => draftOf(agent));
  // A new version (saved here, or restored below) becomes the form's content; the save message stays.
  useEffect(() => setDraft(draftOf(agent)), [agent]);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/agents/{agentId}", {
          params: { path: { agentId: agent.id } },
          body: {
            name: draft.name,
            systemPrompt: draft.systemPrompt,
            temperature: Number(draft.temperature),
            maxOutputTokens: Number(draft.maxOutputTokens),
            memoryWindow: Number(draft.memoryWindow),
            toolIds: draft.toolIds,
            integrationTools: draft.integrationTools as Schemas["CreateAgent"]["integrationTools"],
            knowledgeBaseIds: draft.knowledgeBaseIds,
            modelPolicy: policyOf(draft.policy),
          },
        }),
      ),
    onSuccess: (saved) => {
      queryClient.setQueryData(["agents", agent.id], saved);
      void queryClient.invalidateQueries({ queryKey: ["agents"] });
    },
  });
  const toggle = (key: "toolIds" | "integrationTools" | "knowledgeBaseIds", value: string) =>
    setDraft({ ...draft, [key]: draft[key].includes(value) ? draft[key].filter((v) => v !== value) : [...draft[key], value] });
  const integrationTools = (integrations.data?.data ?? []).flatMap((entry) =>
    entry.connection
      ? entry.tools.map((tool) => ({ id: `${entry.provider}.${tool.name}`, label: `${entry.name}: ${tool.description}` }))
      : [],
  );

  return (
    <Form className="card" onSubmit={() => save.mutate()}>
      <fieldset disabled={!editable}>
        <legend>
          {t("agents.configuration")} <Badge>v{agent.version}</Badge>
        </legend>
        <Field label={t("common.name")} path="name" error={save.error}>
          <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </Field>
        <Field label={t("agents.prompt")} path="systemPrompt" error={save.error}>
          <textarea rows={8} value={draft.systemPrompt} onChange={(e) => setDraft({ ...draft, systemPrompt: e.target.value })} />
        </Field>
        <div className="row">
          <Field label={t("agents.temperature")} path="temperature" error={save.error}>
            <input
              type="number"
              step="0.1"
              value={draft.temperature}
              onChange={(e) => setDraft({ ...draft, temperature: e.target.value })}
            />
          </Field>
          <Field label={t("agents.maxOutputTokens")} path="maxOutputTokens" error={save.error}>
            <input type="number" value={draft.maxOutputTokens} onChange={(e) => setDraft({ ...draft, maxOutputTokens: e.target.value })} />
          </Field>
          <Field label={t("agents.memoryWindow")} path="memoryWindow" error={save.error}>
            <input type="number" value={draft.memoryWindow} onChange={(e) => setDraft({ ...draft, memoryWindow: e.target.value })} />
          </Field>
        </div>
        <ModelPolicyEditor draft={draft.policy} onChange={(policy) => setDraft({ ...draft, policy })} error={save.error} />
        <Checklist
          legend={t("agents.tools")}
          items={(tools.data?.data ?? []).map((tool) => ({
            id: tool.id,
            label: `${tool.name}${tool.enabled ? "" : ` (${t("tools.disabled")})`}`,
          }))}
          selected={draft.toolIds}
          onToggle={(id) => toggle("toolIds", id)}
          empty={t("agents.noTools")}
        />
        <Checklist
          legend={t("agents.integrationTools")}
          items={integrationTools}
          selected={draft.integrationTools}
          onToggle={(id) => toggle("integrationTools", id)}
          empty={t("agents.noIntegrations")}
        />
        <Checklist
          legend={t("agents.knowledge")}
          items={(bases.data?.data ?? []).map((base) => ({ id: base.id, label: base.name }))}
          selected={draft.knowledgeBaseIds}
          onToggle={(id) => toggle("knowledgeBaseIds", id)}
          empty={t("agents.noKnowledge")}
        />
        <ErrorNotice error={save.error} />
        {save.isSuccess ? (
          <p className="ok" role="status">
            {t("agents.saved", { version: save.data.version })}
          </p>
        ) : null}
        {editable ? (
          <button type="submit" disabled={save.isPending}>
            {t("common.save")}
          </button>
        ) : (
          <p className="muted">{t("common.readOnly")}</p>
        )}
      </fieldset>
    </Form>
  );
}

/** The form's state: numbers as typed (strings), turned into numbers when saved. */
function draftOf(agent: Agent) {
  const policy = agent.modelPolicy as Schemas["CreateAgent"]["modelPolicy"] | undefined;
  return {
    name: agent.name,
    systemPrompt: agent.systemPrompt,
    temperature: String(agent.temperature),
    maxOutputTokens: String(agent.maxOutputTokens),
    memoryWindow: String(agent.memoryWindow),
    toolIds: agent.toolIds,
    integrationTools: agent.integrationTools,
    knowledgeBaseIds: agent.knowledgeBaseIds,
    policy: policyDraftOf(policy),
  };
}

function Checklist(props: {
  legend: string;
  items: { id: string; label: string }[];
  selected: string[];
  onToggle(id: string): void;
  empty: string;
}) {
  return (
    <fieldset className="checklist">
      <legend>{props.legend}</legend>
      {props.items.length === 0 ? <p className="muted">{props.empty}</p> : null}
      {props.items.map((item) => (
        <label key={item.id} className="check">
          <input type="checkbox" checked={props.selected.includes(item.id)} onChange={() => props.onToggle(item.id)} /> {item.label}
        </label>
      ))}
    </fieldset>
  );
}

/** The agent's versions: a diff between any two, and rollback (a new version with the old configuration). */
function Versions({ agent }: { agent: Agent }) {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const versions = useQuery({
    queryKey: ["agents", agent.id, "versions", agent.version, agent.publishedVersion],
    queryFn: () => unwrap(api.GET("/v1/agents/{agentId}/versions", { params: { path: { agentId: agent.id } } })),
  });
  const list = versions.data?.data ?? [];
  // By default: what publishing would change (published → draft), else the last change.
  const [left, setLeft] = useState<number | null>(null);
  const [right, setRight] = useState<number | null>(null);
  const from = left ?? (agent.publishedVersion !== agent.version ? agent.publishedVersion : agent.version - 1);
  const to = right ?? agent.version;
  const adopt = (saved: Agent) => {
    queryClient.setQueryData(["agents", agent.id], saved);
    void queryClient.invalidateQueries({ queryKey: ["agents"] });
  };
  const rollback = useMutation({
    mutationFn: (version: number) =>
      unwrap(api.POST("/v1/agents/{agentId}/rollback", { params: { path: { agentId: agent.id } }, body: { version } })),
    onSuccess: adopt,
  });
  const publish = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/agents/{agentId}/publish", { params: { path: { agentId: agent.id } }, body: { expectedVersion: agent.version } }),
      ),
    onSuccess: adopt,
  });
  const pending = agent.publishedVersion !== agent.version;
  return (
    <section className="card" aria-labelledby="versions-title">
      <h2 id="versions-title">{t("agents.versions")}</h2>
      <p role="status" data-testid="publish-status">
        {pending ? (
          <>
            <Badge tone="warn">{t("agents.unpublished")}</Badge>{" "}
            {t("agents.draftAndLive", { draft: agent.version, live: agent.publishedVersion })}
          </>
        ) : (
          <>
            <Badge tone="good">{t("agents.live")}</Badge> {t("agents.allPublished", { version: agent.version })}
          </>
        )}
      </p>
      {pending && can("agents:write") ? (
        <p>
          <button onClick={() => publish.mutate()} disabled={publish.isPending}>
            {t("agents.publish", { version: agent.version })}
          </button>
        </p>
      ) : null}
      <ErrorNotice error={publish.error} />
      <Loaded query={versions}>
        {() => (
          <>
            <table>
              <TableHead columns={[t("agents.version"), t("agents.change"), t("agents.by"), t("common.when")]} actions />
              <tbody>
                {list.map((v) => (
                  <tr key={v.version}>
                    <td>
                      v{v.version} {v.version === agent.publishedVersion ? <Badge tone="good">{t("agents.live")}</Badge> : null}
                    </td>
                    <td>
                      {t(`agents.change.${v.change}`)}
                      {v.restoredFrom ? ` (v${v.restoredFrom})` : ""}
                    </td>
                    <td>{v.createdBy}</td>
                    <td>{formatDate(v.createdAt)}</td>
                    <td>
                      {can("agents:write") && v.version !== agent.version ? (
                        <button className="small" onClick={() => rollback.mutate(v.version)} disabled={rollback.isPending}>
                          {t("agents.rollbackTo", { version: v.version })}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <ErrorNotice error={rollback.error} />
            {list.length > 1 ? (
              <div className="diff-controls row">
                <Field label={t("agents.diffFrom")}>
                  <select value={from} onChange={(e) => setLeft(Number(e.target.value))}>
                    {list.map((v) => (
                      <option key={v.version} value={v.version}>
                        v{v.version}
                      </option>
                    ))}
                  </select>
                </Field>
                <Field label={t("agents.diffTo")}>
                  <select value={to} onChange={(e) => setRight(Number(e.target.value))}>
                    {list.map((v) => (
                      <option key={v.version} value={v.version}>
                        v{v.version}
                      </option>
                    ))}
                  </select>
                </Field>
              </div>
            ) : null}
            {list.length > 1 && from >= 1 ? <VersionDiff agentId={agent.id} from={from} to={to} /> : null}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** The fields that differ between two versions, before and after, as the API computes them. */
function VersionDiff({ agentId, from, to }: { agentId: string; from: number; to: number }) {
  const { t } = useI18n();
  const diff = useQuery({
    queryKey: ["agents", agentId, "diff", from, to],
    queryFn: () => unwrap(api.GET("/v1/agents/{agentId}/diff", { params: { path: { agentId }, query: { from, to } } })),
  });
  return (
    <Loaded query={diff}>
      {(data) =>
        data.changes.length === 0 ? (
          <p className="muted">{t("agents.noDifferences")}</p>
        ) : (
          <table className="diff" data-testid="version-diff">
            <TableHead columns={[t("agents.field"), t("agents.before"), t("agents.after")]} />
            <tbody>
              {data.changes.map((c) => (
                <tr key={c.field}>
                  <th scope="row">{c.field}</th>
                  <td>
                    <del>{JSON.stringify(c.before ?? null, null, 1)}</del>
                  </td>
                  <td>
                    <ins>{JSON.stringify(c.after ?? null, null, 1)}</ins>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loaded>
  );
}
