import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, Empty, ErrorNotice, Field, Loaded, Page, TableHead, Form } from "../ui";

type SourceKind = Schemas["CreateKnowledgeSource"]["kind"];
const KIND_BY_EXTENSION: Record<string, SourceKind> = {
  md: "markdown",
  markdown: "markdown",
  txt: "text",
  html: "html",
  htm: "html",
  pdf: "pdf",
  docx: "docx",
  csv: "csv",
};

/** Knowledge bases and their sources: upload a document or add a URL, and watch ingestion until it is ready. */
export function KnowledgePanel() {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const bases = useQuery({
    queryKey: ["knowledge-bases"],
    queryFn: () => unwrap(api.GET("/v1/knowledge-bases", { params: { query: { limit: 100 } } })),
  });
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/knowledge-bases", { body: { name } })),
    onSuccess: () => {
      setName("");
      void queryClient.invalidateQueries({ queryKey: ["knowledge-bases"] });
    },
  });
  return (
    <Page title={t("knowledge.title")}>
      {can("knowledge:write") ? (
        <Form className="card row" onSubmit={() => create.mutate()}>
          <Field label={t("knowledge.newBase")} path="name" error={create.error}>
            <input value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <button type="submit" disabled={create.isPending}>
            {t("common.create")}
          </button>
          <ErrorNotice error={create.error} />
        </Form>
      ) : null}
      <Loaded query={bases}>
        {(page) =>
          page.data.length === 0 ? <Empty>{t("knowledge.none")}</Empty> : page.data.map((base) => <Base key={base.id} base={base} />)
        }
      </Loaded>
    </Page>
  );
}

function Base({ base }: { base: Schemas["KnowledgeBase"] }) {
  const { t, formatNumber } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const key = ["knowledge-bases", base.id, "sources"];
  const sources = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(
        api.GET("/v1/knowledge-bases/{knowledgeBaseId}/sources", { params: { path: { knowledgeBaseId: base.id }, query: { limit: 100 } } }),
      ),
    // Ingestion progress: poll while anything is still pending or indexing.
    refetchInterval: (query) => (query.state.data?.data.some((s) => s.status === "pending" || s.status === "indexing") ? 1_000 : false),
  });
  const [url, setUrl] = useState("");
  const add = useMutation({
    mutationFn: async (input: { file?: File; url?: string }) => {
      let body: Schemas["CreateKnowledgeSource"];
      if (input.file) {
        const extension = input.file.name.split(".").pop()?.toLowerCase() ?? "";
        const bytes = new Uint8Array(await input.file.arrayBuffer());
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        body = { name: input.file.name, kind: KIND_BY_EXTENSION[extension] ?? "text", contentBase64: btoa(binary) };
      } else {
        body = { name: input.url!, kind: "url", url: input.url! };
      }
      return unwrap(api.POST("/v1/knowledge-bases/{knowledgeBaseId}/sources", { params: { path: { knowledgeBaseId: base.id } }, body }));
    },
    onSuccess: () => {
      setUrl("");
      void queryClient.invalidateQueries({ queryKey: key });
    },
  });
  const remove = useMutation({
    mutationFn: (sourceId: string) =>
      unwrap(
        api.DELETE("/v1/knowledge-bases/{knowledgeBaseId}/sources/{sourceId}", {
          params: { path: { knowledgeBaseId: base.id, sourceId } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: key }),
  });
  const tone = (status: string) => (status === "ready" ? "good" : status === "failed" ? "bad" : "warn");
  return (
    <section className="card" aria-labelledby={`kb-${base.id}`}>
      <h2 id={`kb-${base.id}`}>{base.name}</h2>
      <p className="muted">
        {base.embeddingModel} · {t("knowledge.chunking", { size: base.chunkSize, overlap: base.chunkOverlap })}
      </p>
      {can("knowledge:write") ? (
        <div className="row">
          <Field label={t("knowledge.upload")} hint={t("knowledge.uploadHint")}>
            <input
              type="file"
              accept=".txt,.md,.markdown,.html,.htm,.pdf,.docx,.csv"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file) add.mutate({ file });
                e.target.value = "";
              }}
            />
          </Field>
          <Form className="row" onSubmit={() => add.mutate({ url })}>
            <Field label={t("knowledge.url")} path="url" error={add.error}>
              <input value={url} onChange={(e) => setUrl(e.target.value)} />
            </Field>
            <button type="submit" disabled={add.isPending}>
              {t("knowledge.addUrl")}
            </button>
          </Form>
        </div>
      ) : null}
      <ErrorNotice error={add.error ?? remove.error} />
      <Loaded query={sources}>
        {(page) => (
          <table>
            <TableHead columns={[t("common.name"), t("common.status"), t("knowledge.chunks")]} actions />
            <tbody>
              {page.data.map((source) => (
                <tr key={source.id} data-status={source.status}>
                  <td>{source.name}</td>
                  <td>
                    <Badge tone={tone(source.status)}>{t(`knowledge.status.${source.status}`)}</Badge>
                    {source.status === "pending" || source.status === "indexing" ? <progress aria-label={t("knowledge.progress")} /> : null}
                    {source.error ? <span className="error small"> {source.error}</span> : null}
                  </td>
                  <td>{formatNumber(source.chunkCount)}</td>
                  <td>
                    {can("knowledge:delete") ? (
                      <button className="small danger" onClick={() => remove.mutate(source.id)}>
                        {t("common.delete")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <RetrievalTest baseId={base.id} />
    </section>
  );
}

/** Ask the base a question and see the chunks a turn would get, with their source and score. */
function RetrievalTest({ baseId }: { baseId: string }) {
  const { t, formatNumber } = useI18n();
  const [query, setQuery] = useState("");
  const run = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/v1/knowledge-bases/{knowledgeBaseId}/query", { params: { path: { knowledgeBaseId: baseId } }, body: { query } })),
  });
  return (
    <div className="retrieval-test">
      <Form className="row" onSubmit={() => run.mutate()}>
        <Field label={t("knowledge.tryQuestion")} path="query" error={run.error}>
          <input value={query} onChange={(e) => setQuery(e.target.value)} />
        </Field>
        <button type="submit" disabled={run.isPending}>
          {t("knowledge.try")}
        </button>
      </Form>
      <ErrorNotice error={run.error} />
      {run.data ? (
        run.data.chunks.length === 0 ? (
          <Empty>{t("knowledge.noMatch")}</Empty>
        ) : (
          <ol className="hits" aria-label={t("knowledge.results")}>
            {run.data.chunks.map((chunk) => (
              <li key={chunk.chunkId}>
                <strong>{chunk.sourceName}</strong>{" "}
                <span className="muted">{t("knowledge.score", { score: formatNumber(chunk.score, { maximumFractionDigits: 3 }) })}</span>
                <blockquote>{chunk.text}</blockquote>
              </li>
            ))}
          </ol>
        )
      ) : null}
    </div>
  );
}
