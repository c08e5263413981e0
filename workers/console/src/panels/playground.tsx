import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiProblem, unwrap, type Schemas } from "../api/client";
import { useMe, useSession } from "../auth";
import { useI18n } from "../i18n";
import { Badge, ErrorNotice, Field, Form } from "../ui";

/**
 * Chats with the agent through its web chat channel on this origin: the real path (edge, queue,
 * pool, model), answered by the draft (a session only a signed-in member can open) or by the
 * published version, as a customer would be, so each turn is recorded like any other and shows up in the inbox and analytics.
 * Each reply shows the model that answered, its cost and latency, the tools called and the sources
 * cited, from `GET /v1/conversations/{id}/messages`.
 *
 * The widget API (`/webchat/…`) is the public chat API the embeddable widget uses, not part of the
 * admin API document, so its two calls are typed here.
 */
interface ChatSession {
  token: string;
  sessionId: string;
}

async function widgetCall<T>(path: string, init: RequestInit): Promise<T> {
  const response = await fetch(path, { ...init, headers: { "content-type": "application/json", ...init.headers } });
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string; details?: unknown } };
  if (!response.ok)
    throw new ApiProblem(response.status, body.error?.code ?? `HTTP_${response.status}`, body.error?.message ?? "", body.error?.details);
  return body as T;
}

export function Playground({ agent }: { agent: Schemas["Agent"] }) {
  const { t, formatNumber } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => unwrap(api.GET("/v1/channels", { params: { query: { limit: 100 } } })),
  });
  const channel = channels.data?.data.find(
    (c) =>
      c.kind === "webchat" &&
      c.agentId === agent.id &&
      c.status === "active" &&
      ((c.settings as { allowedOrigins?: string[] }).allowedOrigins ?? []).includes(location.origin),
  );
  const { session: signedIn } = useSession();
  const [session, setSession] = useState<ChatSession | null>(null);
  // The draft answers by default: the playground is where an edit is tried before it is published.
  const [which, setWhich] = useState<"draft" | "published">("draft");
  const [text, setText] = useState("");
  const [waitingSince, setWaitingSince] = useState<number | null>(null);

  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/channels", {
          body: { kind: "webchat", name: t("playground.channelName"), agentId: agent.id, settings: { allowedOrigins: [location.origin] } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["channels"] }),
  });
  const send = useMutation({
    mutationFn: async () => {
      const current =
        session ??
        (which === "draft"
          ? await widgetCall<ChatSession>(`/webchat/${channel!.address}/draft-sessions`, {
              method: "POST",
              headers: { authorization: `Bearer ${signedIn?.accessToken ?? ""}` },
              body: "{}",
            })
          : await widgetCall<ChatSession>(`/webchat/${channel!.address}/sessions`, { method: "POST", body: "{}" }));
      if (!session) setSession(current);
      await widgetCall(`/webchat/${channel!.address}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${current.token}` },
        body: JSON.stringify({ text, clientMessageId: crypto.randomUUID() }),
      });
    },
    onSuccess: () => {
      setText("");
      setWaitingSince(Date.now());
    },
  });
  const transcript = useQuery({
    queryKey: ["playground", channel?.id, session?.sessionId],
    enabled: Boolean(channel && session),
    queryFn: async () => {
      const conversations = await unwrap(api.GET("/v1/conversations", { params: { query: { channelId: channel!.id, limit: 20 } } }));
      const conversation = conversations.data.find((c) => c.externalKey === session!.sessionId);
      if (!conversation) return [];
      const page = await unwrap(
        api.GET("/v1/conversations/{conversationId}/messages", {
          params: { path: { conversationId: conversation.id }, query: { limit: 100 } },
        }),
      );
      return [...page.data].reverse();
    },
    // Poll while a reply is awaited (up to a minute), then stop.
    refetchInterval: (query) => {
      if (waitingSince === null || Date.now() - waitingSince > 60_000) return false;
      const last = query.state.data?.at(-1);
      if (last?.direction === "outbound" && Date.parse(last.createdAt) >= waitingSince - 1_000) {
        setWaitingSince(null);
        return false;
      }
      return 750;
    },
  });

  if (!channel) {
    return (
      <section className="card" aria-labelledby="playground-title">
        <h2 id="playground-title">{t("playground.title")}</h2>
        <p>{t("playground.needsChannel")}</p>
        {can("channels:write") ? (
          <button onClick={() => create.mutate()} disabled={create.isPending || channels.isPending}>
            {t("playground.createChannel")}
          </button>
        ) : null}
        <ErrorNotice error={create.error ?? channels.error} />
      </section>
    );
  }
  return (
    <section className="card playground" aria-labelledby="playground-title">
      <h2 id="playground-title">{t("playground.title")}</h2>
      <Field label={t("playground.version")}>
        <select
          value={which}
          onChange={(e) => {
            setWhich(e.target.value as typeof which);
            setSession(null); // another version: a new conversation
          }}
        >
          <option value="draft">{t("playground.draft", { version: agent.version })}</option>
          <option value="published">{t("playground.published", { version: agent.publishedVersion })}</option>
        </select>
      </Field>
      <ol className="messages" aria-live="polite" data-testid="playground-transcript">
        {(transcript.data ?? []).map((m) => (
          <li key={m.id} className={`message ${m.direction}`}>
            <p>{m.content}</p>
            {m.turn ? (
              <footer className="turn">
                <Badge>
                  {m.turn.provider}/{m.turn.model}
                </Badge>{" "}
                {formatNumber(m.turn.costUsd, { style: "currency", currency: "USD", maximumFractionDigits: 6 })} ·{" "}
                {formatNumber(m.turn.latencyMs)} ms · {t("playground.tokens", { input: m.turn.inputTokens, output: m.turn.outputTokens })}
                {m.turn.toolCalls.length ? (
                  <span className="tools">
                    {" "}
                    · {t("playground.toolCalls")}:{" "}
                    {m.turn.toolCalls.map((call) => `${call.name} ${call.ok ? "✓" : `✗ ${call.outcome ?? ""}`}`).join(", ")}
                  </span>
                ) : null}
                {m.citations.length ? (
                  <span className="citations">
                    {" "}
                    · {t("inbox.citations")}: {m.citations.map((c) => `[${c.n}] ${c.sourceName ?? c.sourceId.slice(0, 8)}`).join(", ")}
                  </span>
                ) : null}
              </footer>
            ) : null}
          </li>
        ))}
      </ol>
      {waitingSince !== null ? (
        <p className="muted" role="status">
          {t("playground.waiting")}
        </p>
      ) : null}
      <Form
        onSubmit={() => {
          if (text.trim()) send.mutate();
        }}
      >
        <Field label={t("playground.message")} path="text" error={send.error}>
          <input value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" />
        </Field>
        <button type="submit" disabled={send.isPending || !text.trim()}>
          {t("inbox.send")}
        </button>
      </Form>
      <ErrorNotice error={send.error ?? transcript.error} />
    </section>
  );
}
