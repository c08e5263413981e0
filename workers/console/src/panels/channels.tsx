import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, Empty, ErrorNotice, Field, Loaded, Page, Form } from "../ui";
import { useAgents } from "./agents";

type Channel = Schemas["Channel"];
type Kind = "telegram" | "whatsapp" | "sms" | "voice" | "webchat";

/** Channels: guided set-up per kind, the webhook and its health check, pause and resume. */
export function ChannelsPanel() {
  const { t } = useI18n();
  const { can } = useMe();
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => unwrap(api.GET("/v1/channels", { params: { query: { limit: 100 } } })),
  });
  const [connecting, setConnecting] = useState(false);
  return (
    <Page
      title={t("channels.title")}
      actions={can("channels:write") ? <button onClick={() => setConnecting(!connecting)}>{t("channels.connect")}</button> : null}
    >
      {connecting ? <ConnectChannel onDone={() => setConnecting(false)} /> : null}
      <Loaded query={channels}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>{t("channels.none")}</Empty>
          ) : (
            page.data.map((channel) => <ChannelCard key={channel.id} channel={channel} />)
          )
        }
      </Loaded>
    </Page>
  );
}

function ChannelCard({ channel }: { channel: Channel }) {
  const { t, formatDate } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["channels"] });
  const test = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/channels/{channelId}/test", { params: { path: { channelId: channel.id } } })),
  });
  const pause = useMutation({
    mutationFn: () =>
      channel.status === "active"
        ? unwrap(api.POST("/v1/channels/{channelId}/pause", { params: { path: { channelId: channel.id } } }))
        : unwrap(api.POST("/v1/channels/{channelId}/resume", { params: { path: { channelId: channel.id } } })),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/channels/{channelId}", { params: { path: { channelId: channel.id } } })),
    onSuccess: refresh,
  });
  return (
    <article className="card channel">
      <header className="page-header">
        <h2>
          {channel.name} <span className="muted">· {channel.kind}</span>
        </h2>
        <Badge tone={channel.status === "active" ? "good" : "warn"}>{t(`channels.status.${channel.status}`)}</Badge>
      </header>
      {channel.webhookUrl ? (
        <p>
          {t("channels.webhook")}: <code className="wrap">{channel.webhookUrl}</code>
        </p>
      ) : null}
      {channel.verifyToken ? (
        <p>
          {t("channels.verifyToken")}: <code>{channel.verifyToken}</code>
        </p>
      ) : null}
      {channel.lastError ? (
        <p className="error" data-testid="last-error">
          {t("channels.lastError", { when: formatDate(channel.lastError.at) })} {channel.lastError.message}{" "}
          <Link href={`/inbox/${channel.lastError.conversationId}`}>{t("channels.openConversation")}</Link>
        </p>
      ) : null}
      {channel.embedSnippet ? (
        <Field label={t("channels.embed")}>
          <textarea readOnly rows={3} value={channel.embedSnippet} />
        </Field>
      ) : null}
      <div className="actions">
        {can("channels:write") ? (
          <>
            <button className="secondary" onClick={() => test.mutate()} disabled={test.isPending}>
              {t("channels.test")}
            </button>
            <button className="secondary" onClick={() => pause.mutate()} disabled={pause.isPending}>
              {channel.status === "active" ? t("channels.pause") : t("channels.resume")}
            </button>
          </>
        ) : null}
        {can("channels:delete") ? (
          <button className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
            {t("common.delete")}
          </button>
        ) : null}
      </div>
      {test.data ? (
        <ul className="checks" role="status">
          {test.data.checks.map((check) => (
            <li key={check.name}>
              <Badge tone={check.ok ? "good" : "bad"}>{check.ok ? "✓" : "✗"}</Badge> {check.name}: {check.detail}
            </li>
          ))}
        </ul>
      ) : null}
      <ErrorNotice error={test.error ?? pause.error ?? remove.error} />
    </article>
  );
}

function ConnectChannel({ onDone }: { onDone(): void }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const agents = useAgents();
  const [kind, setKind] = useState<Kind>("webchat");
  const [name, setName] = useState("");
  const [agentId, setAgentId] = useState("");
  const [secret, setSecret] = useState("");
  const [phoneNumberId, setPhoneNumberId] = useState("");
  const [accountSid, setAccountSid] = useState("");
  const [phoneNumber, setPhoneNumber] = useState("");
  const [origins, setOrigins] = useState(location.origin);
  const connect = useMutation({
    mutationFn: () => {
      const body: Schemas["ConnectChannel"] =
        kind === "telegram"
          ? { kind, name, agentId, botToken: secret }
          : kind === "whatsapp"
            ? { kind, name, agentId, accessToken: secret, settings: { phoneNumberId } }
            : kind === "sms"
              ? { kind, name, agentId, accountSid, authToken: secret, settings: { phoneNumber } }
              : kind === "voice"
                ? { kind, name, agentId, accountSid, authToken: secret, settings: { phoneNumber } }
                : { kind, name, agentId, settings: { allowedOrigins: origins.split(/\s+/).filter(Boolean) } };
      return unwrap(api.POST("/v1/channels", { body }));
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["channels"] });
      onDone();
    },
  });
  return (
    <Form className="card" onSubmit={() => connect.mutate()}>
      <h2>{t("channels.connect")}</h2>
      <Field label={t("channels.kind")}>
        <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
          <option value="webchat">{t("channels.kind.webchat")}</option>
          <option value="telegram">{t("channels.kind.telegram")}</option>
          <option value="whatsapp">{t("channels.kind.whatsapp")}</option>
          <option value="sms">{t("channels.kind.sms")}</option>
          <option value="voice">{t("channels.kind.voice")}</option>
        </select>
      </Field>
      <p className="hint">{t(`channels.guide.${kind}`)}</p>
      <Field label={t("common.name")} path="name" error={connect.error}>
        <input value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label={t("channels.agent")} path="agentId" error={connect.error}>
        <select value={agentId} onChange={(e) => setAgentId(e.target.value)}>
          <option value="">{t("common.choose")}</option>
          {(agents.data?.data ?? []).map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name}
            </option>
          ))}
        </select>
      </Field>
      {kind === "telegram" ? (
        <Field label={t("channels.botToken")} path="botToken" error={connect.error}>
          <input type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} />
        </Field>
      ) : null}
      {kind === "whatsapp" ? (
        <>
          <Field label={t("channels.accessToken")} path="accessToken" error={connect.error}>
            <input type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} />
          </Field>
          <Field label={t("channels.phoneNumberId")} path="settings.phoneNumberId" error={connect.error}>
            <input value={phoneNumberId} onChange={(e) => setPhoneNumberId(e.target.value)} />
          </Field>
        </>
      ) : null}
      {kind === "sms" || kind === "voice" ? (
        <>
          <Field label={t("channels.accountSid")} path="accountSid" error={connect.error}>
            <input value={accountSid} onChange={(e) => setAccountSid(e.target.value)} autoComplete="off" />
          </Field>
          <Field label={t("channels.authToken")} path="authToken" error={connect.error}>
            <input type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} />
          </Field>
          <Field label={t("channels.phoneNumber")} path="settings.phoneNumber" error={connect.error}>
            <input type="tel" value={phoneNumber} onChange={(e) => setPhoneNumber(e.target.value)} />
          </Field>
        </>
      ) : null}
      {kind === "webchat" ? (
        <Field
          label={t("settings.allowedOrigins")}
          path="settings.allowedOrigins"
          error={connect.error}
          hint={t("settings.allowedOriginsHint")}
        >
          <textarea rows={2} value={origins} onChange={(e) => setOrigins(e.target.value)} />
        </Field>
      ) : null}
      <ErrorNotice error={connect.error} />
      <button type="submit" disabled={connect.isPending}>
        {t("channels.connect")}
      </button>
    </Form>
  );
}
