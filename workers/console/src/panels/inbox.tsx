import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, Empty, ErrorNotice, Field, Loaded, Page, Form } from "../ui";

type Status = Schemas["ConversationSummary"]["status"];
const LIVE_MS = 3_000;

/** Live conversations (refreshed every few seconds); one opened beside the list with its messages, takeover and replies. */
export function InboxPanel({ conversationId }: { conversationId?: string }) {
  const { t, formatDate } = useI18n();
  const [status, setStatus] = useState<Status | "">("");
  const conversations = useQuery({
    queryKey: ["conversations", status],
    queryFn: () => unwrap(api.GET("/v1/conversations", { params: { query: { limit: 50, ...(status ? { status } : {}) } } })),
    refetchInterval: LIVE_MS,
  });
  return (
    <Page title={t("inbox.title")}>
      <div className="split">
        <section aria-labelledby="conversations-title" className="list">
          <h2 id="conversations-title" className="visually-hidden">
            {t("inbox.conversations")}
          </h2>
          <Field label={t("common.status")}>
            <select value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
              <option value="">{t("inbox.all")}</option>
              <option value="open">{t("inbox.status.open")}</option>
              <option value="handed_off">{t("inbox.status.handed_off")}</option>
              <option value="closed">{t("inbox.status.closed")}</option>
            </select>
          </Field>
          <Loaded query={conversations}>
            {(page) =>
              page.data.length === 0 ? (
                <Empty>{t("inbox.none")}</Empty>
              ) : (
                <ul className="conversations">
                  {page.data.map((c) => (
                    <li key={c.id} className={c.id === conversationId ? "selected" : ""}>
                      <Link href={`/inbox/${c.id}`} aria-current={c.id === conversationId ? "true" : undefined}>
                        <span className="who">
                          {c.channelName} · {c.externalKey}
                        </span>
                        <Badge tone={c.status === "handed_off" ? "warn" : "neutral"}>{t(`inbox.status.${c.status}`)}</Badge>
                        <span className="preview">{c.lastMessage?.preview ?? ""}</span>
                        <time dateTime={c.lastMessageAt}>{formatDate(c.lastMessageAt)}</time>
                      </Link>
                    </li>
                  ))}
                </ul>
              )
            }
          </Loaded>
        </section>
        {conversationId ? (
          <Conversation conversationId={conversationId} summary={conversations.data?.data.find((c) => c.id === conversationId)} />
        ) : null}
      </div>
    </Page>
  );
}

function Conversation({ conversationId, summary }: { conversationId: string; summary?: Schemas["ConversationSummary"] }) {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const messages = useQuery({
    queryKey: ["conversations", conversationId, "messages"],
    queryFn: () =>
      unwrap(api.GET("/v1/conversations/{conversationId}/messages", { params: { path: { conversationId }, query: { limit: 100 } } })),
    refetchInterval: LIVE_MS,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["conversations"] });
  // The answer carries the new status: shown at once in every cached list, then lists are fetched again.
  const applyStatus = (changed: Schemas["ConversationHandoff"]) => {
    queryClient.setQueriesData<Schemas["ConversationSummaryPage"]>({ queryKey: ["conversations"], exact: false }, (page) =>
      page && Array.isArray(page.data)
        ? {
            ...page,
            data: page.data.map((c) => (c.id === changed.id ? { ...c, status: changed.status, handedOffAt: changed.handedOffAt } : c)),
          }
        : page,
    );
    void refresh();
  };
  const handoff = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/conversations/{conversationId}/handoff", { params: { path: { conversationId } } })),
    onSuccess: applyStatus,
  });
  const release = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/conversations/{conversationId}/release", { params: { path: { conversationId } } })),
    onSuccess: applyStatus,
  });
  const [text, setText] = useState("");
  const send = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/v1/conversations/{conversationId}/messages", { params: { path: { conversationId } }, body: { text } })),
    onSuccess: () => {
      setText("");
      void refresh();
    },
  });
  const testCase = useMutation({
    mutationFn: () => unwrap(api.GET("/v1/conversations/{conversationId}/test-case", { params: { path: { conversationId } } })),
  });
  const handedOff = summary?.status === "handed_off";
  // The API lists newest first; a conversation reads oldest first.
  const ordered = [...(messages.data?.data ?? [])].reverse();
  return (
    <section className="conversation card" aria-labelledby="conversation-title">
      <header className="page-header">
        <h2 id="conversation-title">{summary ? `${summary.channelName} · ${summary.externalKey}` : t("inbox.conversation")}</h2>
        {can("agents:write") ? (
          <div className="actions">
            {handedOff ? (
              <button onClick={() => release.mutate()} disabled={release.isPending}>
                {t("inbox.handBack")}
              </button>
            ) : (
              <button onClick={() => handoff.mutate()} disabled={handoff.isPending}>
                {t("inbox.takeOver")}
              </button>
            )}
          </div>
        ) : null}
      </header>
      <p>
        <button className="secondary small" onClick={() => testCase.mutate()} disabled={testCase.isPending}>
          {t("inbox.makeTestCase")}
        </button>
      </p>
      {testCase.data ? (
        <Field label={t("inbox.testCase")} hint={t("inbox.testCaseHint")}>
          <textarea readOnly rows={8} value={testCase.data.yaml} data-testid="test-case-yaml" />
        </Field>
      ) : null}
      <ErrorNotice error={handoff.error ?? release.error ?? messages.error ?? testCase.error} />
      <ol className="messages" aria-live="polite">
        {ordered.map((m) => (
          <li key={m.id} className={`message ${m.direction}`}>
            <p>{m.content}</p>
            <footer>
              <time dateTime={m.createdAt}>{formatDate(m.createdAt)}</time> · {m.status}
              {m.turn ? ` · ${m.turn.provider}/${m.turn.model}` : ""}
              {m.citations.length ? (
                <span className="citations">
                  {" "}
                  · {t("inbox.citations")}: {m.citations.map((c) => `[${c.n}] ${c.sourceName ?? c.sourceId.slice(0, 8)}`).join(", ")}
                </span>
              ) : null}
            </footer>
          </li>
        ))}
      </ol>
      {can("agents:write") && handedOff ? (
        <Form onSubmit={() => send.mutate()}>
          <Field label={t("inbox.reply")} path="text" error={send.error}>
            <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} />
          </Field>
          <ErrorNotice error={send.error} />
          <button type="submit" disabled={send.isPending}>
            {t("inbox.send")}
          </button>
        </Form>
      ) : can("agents:write") ? (
        <p className="muted">{t("inbox.takeOverToReply")}</p>
      ) : null}
    </section>
  );
}
