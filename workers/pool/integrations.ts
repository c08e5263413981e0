import type { StructuredToolInterface } from "@langchain/core/tools";
import { DelegateBackoff, handleWhen, retry, type IRetryBackoffContext } from "cockatiel";
import { tool } from "langchain";
import { maskSecrets } from "../../core/access/audit";
import type { Keyring } from "../../core/crypto/secrets";
import { connectionAccess, NotConnectedError, type AccessDependencies } from "../../core/integrations/access";
import type { IntegrationConfig } from "../../core/integrations/config";
import { integrationTool } from "../../core/integrations/registry";
import { ProviderError, type IntegrationProvider, type IntegrationTool, type IntegrationToolContext } from "../../core/integrations/types";
import { describeError, type Logger } from "../../core/observability/log";
import type { Database } from "../../db/client";
import { integrationEvents } from "../../db/schema";
import type { ToolCallRecord } from "../../db/schema/usage";
import { withTenant } from "../../db/tenant";
import { approvalGate, confirmationPrompt, type ApprovalSubject } from "./tools";

/** What the agents' integration tools need in the pool. */
export interface IntegrationRuntime {
  db: Database;
  keyring: Keyring;
  config: IntegrationConfig;
  fetch?: typeof fetch;
  logger: Logger;
}

/** Longest Retry-After a call waits inside a turn; past it the model is told to try later. */
const MAX_RETRY_AFTER_SECONDS = 10;
/** Attempts per call for 429s (the first included). */
const RATE_LIMIT_ATTEMPTS = 3;

/** The turn's tenant and conversation, from the runnable config (never from the model's arguments). */
interface RunContext {
  tenantId: string;
  conversationId: string;
}

/**
 * The agent's enabled integration tools (`agents.integration_tools`) as LangChain tools named
 * `<provider>_<tool>`. Each call: arguments validated by the tool's zod schema (LangChain refuses
 * others before `run`); the approval gate for risky tools (a payment link, a refund); a fresh
 * token from `connectionAccess` (refreshed under a row lock when about to expire); the official
 * SDK's client; one refresh and retry on a 401; 429s waited out per Retry-After, at most
 * {@link RATE_LIMIT_ATTEMPTS} attempts; and errors turned into short sentences the model can act
 * on. A provider that is not connected (or needs re-authorisation) answers "not connected" instead
 * of failing the turn. Tokens never reach the model, the record or the log.
 */
export function integrationTools(
  runtime: IntegrationRuntime,
  agent: { tenantId: string; integrationTools: readonly string[] },
  endUser: IntegrationToolContext["endUser"],
): StructuredToolInterface[] {
  return agent.integrationTools.flatMap((qualified) => {
    const found = integrationTool(qualified);
    if (!found) return [];
    return [buildTool(runtime, agent.tenantId, qualified, found.provider, found.tool, endUser)];
  });
}

function buildTool(
  runtime: IntegrationRuntime,
  tenantId: string,
  qualified: string,
  provider: IntegrationProvider,
  spec: IntegrationTool,
  endUser: IntegrationToolContext["endUser"],
): StructuredToolInterface {
  return tool(
    async (input: Record<string, unknown>, config): Promise<[string, { toolCall: ToolCallRecord }]> => {
      const context = (config?.configurable ?? {}) as Partial<RunContext>;
      const started = performance.now();
      const record = (ok: boolean, outcome: string, extra: Partial<ToolCallRecord> = {}): ToolCallRecord => ({
        name: qualified,
        ok,
        outcome,
        arguments: maskSecrets(input),
        latencyMs: Math.round(performance.now() - started),
        ...extra,
      });
      if (context.tenantId !== tenantId || !context.conversationId) {
        return ["This tool is not available here.", { toolCall: record(false, "no_context") }];
      }
      const log = (outcome: string, extra: Record<string, unknown> = {}) =>
        runtime.logger.log(outcome === "ok" ? "info" : "warn", "integration.tool_call", {
          tenantId,
          conversationId: context.conversationId,
          tool: qualified,
          outcome,
          ...extra,
        });
      if (spec.requiresApproval) {
        const subject: ApprovalSubject = { integrationTool: qualified, operatorOnly: spec.approval === "operator" };
        const gate = await approvalGate(runtime.db, context as RunContext, subject, input);
        if (gate.status !== "approved") {
          const outcome = gate.status === "rejected" ? "approval_rejected" : "approval_required";
          log(outcome, { approvalId: gate.approvalId });
          return [confirmationPrompt(qualified, gate, input, subject), { toolCall: record(false, outcome, { responseBytes: 0 }) }];
        }
      }
      const toolContext: IntegrationToolContext = {
        tenantId,
        conversationId: context.conversationId,
        endUser,
        remember: (externalId, kind, details) =>
          rememberForConversation(runtime.db, tenantId, provider.id, context.conversationId!, externalId, kind, details),
      };
      try {
        const answer = await callWithAccess(runtime, tenantId, provider, (client) => spec.run(client, input, toolContext));
        log("ok", { refs: answer.refs });
        return [answer.text, { toolCall: record(true, "ok", { responseBytes: answer.text.length }) }];
      } catch (error) {
        if (error instanceof NotConnectedError) {
          log("not_connected");
          return [
            `${provider.name} is not connected for this business right now (${error.reason}). Do not try this again in this conversation; tell the person you cannot reach ${provider.name} at the moment and offer another way.`,
            { toolCall: record(false, "not_connected") },
          ];
        }
        if (error instanceof ProviderError) {
          log("provider_error", { status: error.status, message: error.message });
          const hint = error.status === 429 ? " Try again later." : error.status === 404 ? " Check the id and try another search." : "";
          return [`${error.message}${hint}`, { toolCall: record(false, "provider_error", error.status ? { status: error.status } : {}) }];
        }
        runtime.logger.log("error", "integration.tool_failed", { tenantId, tool: qualified, ...describeError(error) });
        return [`${provider.name} could not be used because of an internal error.`, { toolCall: record(false, "internal_error") }];
      }
    },
    {
      name: qualified.replace(".", "_"),
      description: spec.description,
      schema: spec.schema,
      responseFormat: "content_and_artifact",
    },
  );
}

/**
 * Runs `work` with the provider's SDK client on a fresh token: on a refusal of the token (401), one
 * refresh past the version that was refused (another process may have refreshed already, then that
 * token is used), and the call again; on 429, waits the provider's Retry-After (capped) and tries
 * again, {@link RATE_LIMIT_ATTEMPTS} attempts in all. SDK errors become ProviderErrors.
 */
export async function callWithAccess<T>(
  runtime: IntegrationRuntime,
  tenantId: string,
  provider: IntegrationProvider,
  work: (client: unknown) => Promise<T>,
): Promise<T> {
  const deps: AccessDependencies & { db: Database } = {
    db: runtime.db,
    keyring: runtime.keyring,
    config: runtime.config,
    ...(runtime.fetch ? { fetch: runtime.fetch } : {}),
  };
  const rateLimited = retry(
    handleWhen(
      (error) =>
        error instanceof ProviderError && error.status === 429 && (error.options.retryAfterSeconds ?? 1) <= MAX_RETRY_AFTER_SECONDS,
    ),
    {
      maxAttempts: RATE_LIMIT_ATTEMPTS - 1,
      backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => {
        const error = "error" in context.result ? (context.result.error as ProviderError) : undefined;
        return Math.max(0, (error?.options.retryAfterSeconds ?? 1) * 1000);
      }),
    },
  );
  let current = await connectionAccess(deps, tenantId, { provider: provider.id });
  let refreshed = false;
  return rateLimited.execute(async () => {
    for (;;) {
      try {
        return await work(await provider.client(current.access, runtime.config));
      } catch (error) {
        const mapped = error instanceof ProviderError ? error : provider.sdkError(error);
        if (!mapped) throw error;
        if (mapped.options.auth && !refreshed) {
          refreshed = true;
          current = await connectionAccess(deps, tenantId, { provider: provider.id }, { staleVersion: current.version });
          continue;
        }
        if (mapped.options.auth) throw new NotConnectedError(provider.name, mapped.message);
        throw mapped;
      }
    }
  });
}

/** Records what a tool made (a payment link) so the provider's later event reaches this conversation. */
async function rememberForConversation(
  db: Database,
  tenantId: string,
  provider: string,
  conversationId: string,
  externalId: string,
  kind: string,
  details: Record<string, unknown>,
): Promise<void> {
  await withTenant(db, tenantId, (tx) =>
    tx.insert(integrationEvents).values({ tenantId, provider, externalId, kind, conversationId, details }).onConflictDoNothing(),
  );
}
