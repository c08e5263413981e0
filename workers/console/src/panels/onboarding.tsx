import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { AGENT_TEMPLATES } from "../templates";
import { ErrorNotice, Page } from "../ui";

/**
 * The first-run wizard: pick an agent template, connect a first channel (web chat, on this
 * origin), then try it. Every step can also be done in its own panel.
 */
export function OnboardingPanel() {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const [agent, setAgent] = useState<Schemas["Agent"] | null>(null);
  const [channel, setChannel] = useState<Schemas["Channel"] | null>(null);
  const createAgent = useMutation({
    mutationFn: (templateId: string) =>
      unwrap(api.POST("/v1/agents", { body: AGENT_TEMPLATES.find((tpl) => tpl.id === templateId)!.agent })),
    onSuccess: (created) => {
      setAgent(created);
      void queryClient.invalidateQueries({ queryKey: ["agents"] });
    },
  });
  const connect = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/channels", {
          body: { kind: "webchat", name: t("welcome.webchatName"), agentId: agent!.id, settings: { allowedOrigins: [location.origin] } },
        }),
      ),
    onSuccess: (created) => {
      setChannel(created);
      void queryClient.invalidateQueries({ queryKey: ["channels"] });
    },
  });
  if (!can("agents:write")) {
    return (
      <Page title={t("welcome.title")}>
        <p>{t("welcome.readOnly")}</p>
      </Page>
    );
  }
  return (
    <Page title={t("welcome.title")}>
      <ol className="wizard">
        <li aria-current={!agent ? "step" : undefined}>
          <h2>{t("welcome.step1")}</h2>
          {agent ? (
            <p className="ok">{t("welcome.agentCreated", { name: agent.name })}</p>
          ) : (
            <div className="cards">
              {AGENT_TEMPLATES.map((tpl) => (
                <article key={tpl.id} className="card template">
                  <h3>{t(tpl.title)}</h3>
                  <p>{t(tpl.summary)}</p>
                  <button onClick={() => createAgent.mutate(tpl.id)} disabled={createAgent.isPending}>
                    {t("welcome.useTemplate")}
                  </button>
                </article>
              ))}
            </div>
          )}
          <ErrorNotice error={createAgent.error} />
        </li>
        <li aria-current={agent && !channel ? "step" : undefined}>
          <h2>{t("welcome.step2")}</h2>
          {channel ? (
            <p className="ok">{t("welcome.channelConnected")}</p>
          ) : agent && can("channels:write") ? (
            <>
              <p>{t("welcome.channelLead")}</p>
              <button onClick={() => connect.mutate()} disabled={connect.isPending}>
                {t("welcome.connectWebchat")}
              </button>{" "}
              <Link href="/channels">{t("welcome.otherChannels")}</Link>
            </>
          ) : null}
          <ErrorNotice error={connect.error} />
        </li>
        <li aria-current={channel ? "step" : undefined}>
          <h2>{t("welcome.step3")}</h2>
          {agent ? (
            <p>
              <Link href={`/agents/${agent.id}`}>{t("welcome.openAgent")}</Link>
              {channel?.embedSnippet ? (
                <>
                  {" · "}
                  {t("welcome.embed")} <code className="wrap">{channel.embedSnippet}</code>
                </>
              ) : null}
            </p>
          ) : null}
        </li>
      </ol>
    </Page>
  );
}
