import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, unwrap } from "../api/client";
import { useMe } from "../auth";
import { TimeChart } from "../chart";
import { useI18n } from "../i18n";
import { Badge, ErrorNotice, Field, Loaded, Page, TableHead, Form } from "../ui";

const RANGES = {
  "24h": { hours: 24, granularity: "hour" },
  "7d": { hours: 168, granularity: "day" },
  "30d": { hours: 720, granularity: "day" },
} as const;

/** Charts of conversations, latency and cost, cost by model, budget use, and the alert rules. */
export function AnalyticsPanel() {
  const { t, formatNumber } = useI18n();
  const [range, setRange] = useState<keyof typeof RANGES>("7d");
  const window = useMemo(() => {
    const to = new Date();
    const from = new Date(to.getTime() - RANGES[range].hours * 3600_000);
    return { from: from.toISOString(), to: to.toISOString() };
  }, [range]);
  const summary = useQuery({
    queryKey: ["analytics", "summary", window],
    queryFn: () => unwrap(api.GET("/v1/analytics/summary", { params: { query: window } })),
  });
  const series = useQuery({
    queryKey: ["analytics", "timeseries", window],
    queryFn: () =>
      unwrap(api.GET("/v1/analytics/timeseries", { params: { query: { ...window, granularity: RANGES[range].granularity } } })),
  });
  const models = useQuery({
    queryKey: ["analytics", "models", window],
    queryFn: () => unwrap(api.GET("/v1/analytics/models", { params: { query: window } })),
  });
  const budget = useQuery({ queryKey: ["analytics", "budget"], queryFn: () => unwrap(api.GET("/v1/analytics/budget")) });
  const usd = (value: number) => formatNumber(value, { style: "currency", currency: "USD", maximumFractionDigits: 4 });

  const chart = useMemo(() => {
    const points = series.data?.points ?? [];
    return {
      x: points.map((p) => Date.parse(p.start) / 1000),
      traffic: [
        { label: t("analytics.conversations"), values: points.map((p) => p.conversationsStarted), color: "#1f6feb" },
        { label: t("analytics.messagesIn"), values: points.map((p) => p.messagesIn), color: "#2da44e" },
        { label: t("analytics.handoffs"), values: points.map((p) => p.handoffs), color: "#bf8700" },
      ],
      latency: [
        { label: t("analytics.p50Latency"), values: points.map((p) => p.p50ResponseMs), color: "#1f6feb" },
        { label: t("analytics.p95Latency"), values: points.map((p) => p.p95ResponseMs), color: "#8250df" },
        { label: t("analytics.p99Latency"), values: points.map((p) => p.p99ResponseMs), color: "#cf222e" },
      ],
      cost: [{ label: t("analytics.cost"), values: points.map((p) => p.costUsd), color: "#0a7d6c" }],
    };
  }, [series.data, t]);

  return (
    <Page
      title={t("analytics.title")}
      actions={
        <label>
          <span className="visually-hidden">{t("analytics.range")}</span>
          <select value={range} onChange={(e) => setRange(e.target.value as keyof typeof RANGES)}>
            {Object.keys(RANGES).map((r) => (
              <option key={r} value={r}>
                {t(`analytics.range.${r as keyof typeof RANGES}`)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <Loaded query={summary}>
        {(s) => (
          <dl className="stats" data-testid="analytics-summary">
            <Stat label={t("analytics.conversations")} value={formatNumber(s.conversationsStarted)} />
            <Stat label={t("analytics.turns")} value={formatNumber(s.turns)} />
            <Stat
              label={t("analytics.resolution")}
              value={
                s.conversationsStarted
                  ? `${formatNumber(100 - (100 * s.handoffs) / s.conversationsStarted, { maximumFractionDigits: 0 })} %`
                  : "—"
              }
            />
            <Stat label={t("analytics.p50Latency")} value={s.p50ResponseMs === null ? "—" : `≤ ${formatNumber(s.p50ResponseMs)} ms`} />
            <Stat label={t("analytics.p99Latency")} value={s.p99ResponseMs === null ? "—" : `≤ ${formatNumber(s.p99ResponseMs)} ms`} />
            <Stat label={t("analytics.cost")} value={usd(s.costUsd)} />
          </dl>
        )}
      </Loaded>
      <Loaded query={series}>
        {() => (
          <div className="charts">
            <TimeChart title={t("analytics.trafficChart")} x={chart.x} series={chart.traffic} />
            <TimeChart title={t("analytics.latencyChart")} x={chart.x} series={chart.latency} />
            <TimeChart title={t("analytics.costChart")} x={chart.x} series={chart.cost} />
          </div>
        )}
      </Loaded>
      <section className="card" aria-labelledby="models-title">
        <h2 id="models-title">{t("analytics.byModel")}</h2>
        <Loaded query={models}>
          {(m) => (
            <table>
              <TableHead columns={[t("analytics.model"), t("analytics.turns"), t("analytics.tokens"), t("analytics.cost")]} />
              <tbody>
                {m.data.map((row) => (
                  <tr key={`${row.provider}:${row.model}`}>
                    <td>
                      {row.provider}/{row.model}
                    </td>
                    <td>{formatNumber(row.turns)}</td>
                    <td>{formatNumber(row.inputTokens + row.outputTokens)}</td>
                    <td>{usd(row.costUsd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Loaded>
      </section>
      <section className="card" aria-labelledby="budget-title">
        <h2 id="budget-title">{t("analytics.budget")}</h2>
        <Loaded query={budget}>
          {(b) => (
            <>
              <p>
                {t("analytics.budgetUse", { spent: usd(b.spentUsd), limit: usd(b.monthlyLimitUsd) })}{" "}
                <Badge tone={b.state === "normal" ? "good" : b.state === "soft_limit" ? "warn" : "bad"}>
                  {t(`analytics.budget.${b.state}`)}
                </Badge>
              </p>
              <progress max={1} value={Math.min(1, b.usedRatio ?? 0)} aria-label={t("analytics.budget")} />
            </>
          )}
        </Loaded>
      </section>
      <AlertRules />
    </Page>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function AlertRules() {
  const { t } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const rules = useQuery({ queryKey: ["alerts"], queryFn: () => unwrap(api.GET("/v1/alerts", { params: { query: { limit: 100 } } })) });
  const [name, setName] = useState("");
  const [threshold, setThreshold] = useState("10");
  const [email, setEmail] = useState("");
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/alerts", {
          body: {
            name,
            condition: { kind: "cost_over", thresholdUsd: Number(threshold), windowMinutes: 60 },
            delivery: { channel: "email", to: [email] },
            enabled: true,
          },
        }),
      ),
    onSuccess: () => {
      setName("");
      void queryClient.invalidateQueries({ queryKey: ["alerts"] });
    },
  });
  const remove = useMutation({
    mutationFn: (alertRuleId: string) => unwrap(api.DELETE("/v1/alerts/{alertRuleId}", { params: { path: { alertRuleId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["alerts"] }),
  });
  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">{t("alerts.title")}</h2>
      <Loaded query={rules}>
        {(page) => (
          <ul className="rules">
            {page.data.map((rule) => (
              <li key={rule.id}>
                <strong>{rule.name}</strong> <code>{rule.condition.kind}</code>{" "}
                <Badge tone={rule.state === "firing" ? "bad" : "good"}>{t(`alerts.state.${rule.state}`)}</Badge>{" "}
                {can("analytics:delete") ? (
                  <button className="small" onClick={() => remove.mutate(rule.id)}>
                    {t("common.delete")}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      {can("analytics:write") ? (
        <Form className="row" onSubmit={() => create.mutate()}>
          <Field label={t("common.name")} path="name" error={create.error}>
            <input value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label={t("alerts.costOver")} path="condition.thresholdUsd" error={create.error}>
            <input type="number" min="0" value={threshold} onChange={(e) => setThreshold(e.target.value)} />
          </Field>
          <Field label={t("alerts.email")} path="delivery.to" error={create.error}>
            <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          <button type="submit" disabled={create.isPending}>
            {t("alerts.create")}
          </button>
          <ErrorNotice error={create.error ?? remove.error} />
        </Form>
      ) : null}
    </section>
  );
}
