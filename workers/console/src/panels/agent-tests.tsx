import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useMe } from "../auth";
import { useI18n } from "../i18n";
import { Badge, Empty, ErrorNotice, Field, Form, Loaded, TableHead } from "../ui";

type Run = Schemas["AgentTestRun"];

/** The results as the pool stores them (core/agents/test-results.ts). */
interface Results {
  passed: number;
  failed: number;
  passRate: number;
  latencyMs: { total: number; max: number };
  costUsd: number;
  cases: Array<{ name: string; passed: boolean; turns: Array<{ user: string; reply: string; failures: string[]; model: string }> }>;
}

const EXAMPLE = `name: Basics
cases:
  - name: greets
    turns:
      - user: Hello
        expect:
          notContains: [sorry]
          maxLatencyMs: 10000
`;

/**
 * The agent's test suite: written here (YAML or JSON), run against the draft or the published
 * version in the worker pool, with the runs listed newest first and each one's failures per turn.
 */
export function AgentTests({ agent }: { agent: Schemas["Agent"] }) {
  const { t, formatDate, formatNumber } = useI18n();
  const { can } = useMe();
  const queryClient = useQueryClient();
  const [suite, setSuite] = useState(EXAMPLE);
  const [version, setVersion] = useState<"draft" | "published">("draft");
  const [selected, setSelected] = useState<string | null>(null);
  const runs = useQuery({
    queryKey: ["agents", agent.id, "test-runs"],
    queryFn: () => unwrap(api.GET("/v1/agents/{agentId}/test-runs", { params: { path: { agentId: agent.id } } })),
    // Poll while a run is still going.
    refetchInterval: (query) => (query.state.data?.data.some((run) => run.status === "running") ? 1_000 : false),
  });
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/v1/agents/{agentId}/test-runs", { params: { path: { agentId: agent.id } }, body: { suite, version } })),
    onSuccess: (run) => {
      setSelected(run.id);
      void queryClient.invalidateQueries({ queryKey: ["agents", agent.id, "test-runs"] });
    },
  });
  const list = runs.data?.data ?? [];
  const shown = list.find((run) => run.id === (selected ?? list[0]?.id));
  return (
    <section className="card" aria-labelledby="tests-title">
      <h2 id="tests-title">{t("tests.title")}</h2>
      {can("agents:write") ? (
        <Form onSubmit={() => start.mutate()}>
          <Field label={t("tests.suite")} path="suite" error={start.error} hint={t("tests.suiteHint")}>
            <textarea rows={10} value={suite} onChange={(e) => setSuite(e.target.value)} spellCheck={false} />
          </Field>
          <div className="row">
            <Field label={t("tests.version")}>
              <select value={version} onChange={(e) => setVersion(e.target.value as typeof version)}>
                <option value="draft">{t("playground.draft", { version: agent.version })}</option>
                <option value="published">{t("playground.published", { version: agent.publishedVersion })}</option>
              </select>
            </Field>
            <button type="submit" disabled={start.isPending}>
              {t("tests.run")}
            </button>
          </div>
          <ErrorNotice error={start.error} />
          <SuiteIssues error={start.error} />
        </Form>
      ) : null}
      <Loaded query={runs}>
        {() =>
          list.length === 0 ? (
            <Empty>{t("tests.none")}</Empty>
          ) : (
            <table>
              <TableHead columns={[t("common.when"), t("agents.version"), t("common.status"), t("tests.passRate")]} actions />
              <tbody>
                {list.map((run) => (
                  <tr key={run.id} aria-selected={run.id === shown?.id}>
                    <td>{formatDate(run.createdAt)}</td>
                    <td>v{run.version}</td>
                    <td>
                      <Badge tone={tone(run)}>{t(`tests.status.${run.status}`)}</Badge>
                    </td>
                    <td>{run.results ? `${Math.round((run.results as unknown as Results).passRate * 100)} %` : "—"}</td>
                    <td>
                      <button className="small secondary" onClick={() => setSelected(run.id)}>
                        {t("tests.show")}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {shown?.results ? <RunDetails results={shown.results as unknown as Results} formatNumber={formatNumber} /> : null}
      {shown?.results ? <Compare agentId={agent.id} run={shown} runs={list} /> : null}
      {shown?.error ? <p className="error">{shown.error}</p> : null}
    </section>
  );
}

function tone(run: Run): "good" | "bad" | "warn" | "neutral" {
  return run.status === "passed" ? "good" : run.status === "running" ? "warn" : "bad";
}

function RunDetails({ results, formatNumber }: { results: Results; formatNumber: (n: number, o?: Intl.NumberFormatOptions) => string }) {
  const { t } = useI18n();
  return (
    <div data-testid="test-run">
      <p>
        {t("tests.summary", {
          passed: results.passed,
          failed: results.failed,
          ms: formatNumber(results.latencyMs.total),
          cost: formatNumber(results.costUsd, { style: "currency", currency: "USD", maximumFractionDigits: 6 }),
        })}
      </p>
      <ul className="cases">
        {results.cases.map((testCase) => (
          <li key={testCase.name}>
            <Badge tone={testCase.passed ? "good" : "bad"}>{testCase.passed ? "✓" : "✗"}</Badge> {testCase.name}
            {testCase.turns.some((turn) => turn.failures.length) ? (
              <ul>
                {testCase.turns.flatMap((turn, i) =>
                  turn.failures.map((failure) => (
                    <li key={`${i}-${failure}`} className="error small">
                      “{turn.user}”: {failure}
                    </li>
                  )),
                )}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A refused suite's issues, each with its line and column. */
function SuiteIssues({ error }: { error: unknown }) {
  const issues = (error as { details?: { issues?: Array<{ line?: number; column?: number; path: string; message: string }> } } | null)
    ?.details?.issues;
  if (!issues?.length) return null;
  return (
    <ul className="error small" data-testid="suite-issues">
      {issues.map((issue, i) => (
        <li key={i}>
          {issue.line ? `${issue.line}:${issue.column ?? 1} ` : ""}
          {issue.path} {issue.message}
        </li>
      ))}
    </ul>
  );
}

/** Another finished run beside this one (e.g. the published version's beside the draft's): each case's outcome in both. */
function Compare({ agentId, run, runs }: { agentId: string; run: Run; runs: Run[] }) {
  const { t } = useI18n();
  const others = runs.filter((other) => other.id !== run.id && other.results);
  const [otherId, setOtherId] = useState("");
  const comparison = useQuery({
    queryKey: ["agents", agentId, "test-runs", otherId, "compare", run.id],
    enabled: Boolean(otherId),
    queryFn: () =>
      unwrap(
        api.GET("/v1/agents/{agentId}/test-runs/{runId}/compare/{otherRunId}", {
          params: { path: { agentId, runId: otherId, otherRunId: run.id } },
        }),
      ),
  });
  if (others.length === 0) return null;
  const mark = (passed: boolean | null | undefined) => (passed === null || passed === undefined ? "—" : passed ? "✓" : "✗");
  return (
    <div className="compare">
      <Field label={t("tests.compareWith")}>
        <select value={otherId} onChange={(e) => setOtherId(e.target.value)}>
          <option value="">{t("common.choose")}</option>
          {others.map((other) => (
            <option key={other.id} value={other.id}>
              v{other.version} · {t(`tests.status.${other.status}`)} · {other.createdAt.slice(0, 16).replace("T", " ")}
            </option>
          ))}
        </select>
      </Field>
      {comparison.data ? (
        <table data-testid="test-comparison">
          <TableHead
            columns={[t("tests.case"), `v${comparison.data.before.version}`, `v${comparison.data.after.version}`, t("tests.changed")]}
          />
          <tbody>
            {comparison.data.cases.map((c) => (
              <tr key={c.name}>
                <th scope="row">{c.name}</th>
                <td>{mark(c.before)}</td>
                <td>{mark(c.after)}</td>
                <td>{c.changed ? <Badge tone="warn">{t("tests.changed")}</Badge> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ErrorNotice error={comparison.error} />
    </div>
  );
}
