import type { StructuredToolInterface } from "@langchain/core/tools";
import { and, asc, desc, eq, gt, inArray, ne, or, sql } from "drizzle-orm";
import { tool } from "langchain";
import { maskSecrets } from "../../core/access/audit";
import { openCredentials, type Keyring } from "../../core/crypto/secrets";
import { createSafeFetch, type SafeFetch } from "../../core/http/safe-fetch";
import { describeError, type Logger } from "../../core/observability/log";
import { argumentsSchema, type AuthConfig, type ToolParameters } from "../../core/tools/definition";
import { OAuthTokenCache, runTool, type RunnableTool, type ToolRunResult } from "../../core/tools/execute";
import type { Database, Transaction } from "../../db/client";
import { messages, toolApprovals, tools, type Tool } from "../../db/schema";
import type { ToolCallRecord } from "../../db/schema/usage";
import { withTenant } from "../../db/tenant";
import { APPROVAL_TTL_HOURS } from "../../core/tools/approvals";

/** What running tenant tools needs in the pool: the SSRF-safe client, the token cache, the keyring. */
export interface ToolRuntime {
  fetch: SafeFetch;
  tokens: OAuthTokenCache;
}

/** A tool row with its credentials opened (in memory only, for this turn or test). */
export async function openTool(keyring: Keyring, row: Tool): Promise<RunnableTool> {
  const auth: AuthConfig = row.authConfig
    ? await openCredentials<AuthConfig>(keyring, { tenantId: row.tenantId, owner: `tool:${row.id}` }, row.authConfig)
    : { type: "none" };
  return {
    id: row.id,
    tenantId: row.tenantId,
    name: row.name,
    description: row.description,
    method: row.method,
    urlTemplate: row.urlTemplate,
    parameters: row.parameters as ToolParameters,
    parameterLocations: row.parameterLocations,
    responseMapping: row.responseMapping,
    timeoutMs: row.timeoutMs,
    requiresApproval: row.requiresApproval,
    auth,
  };
}

/**
 * The agent's enabled tools, read in the turn's tenant transaction and opened. A tool whose
 * credentials cannot be opened is left out (and logged), so one broken tool does not stop a turn.
 */
export async function loadAgentTools(
  tx: Transaction,
  keyring: Keyring,
  tenantId: string,
  toolIds: readonly string[],
  logger: Logger,
): Promise<RunnableTool[]> {
  if (toolIds.length === 0) return [];
  const rows = await tx
    .select()
    .from(tools)
    .where(and(eq(tools.tenantId, tenantId), inArray(tools.id, [...toolIds]), eq(tools.enabled, true)));
  const opened: RunnableTool[] = [];
  for (const row of rows) {
    try {
      opened.push(await openTool(keyring, row));
    } catch (error) {
      logger.log("warn", "tool.credentials_unreadable", { toolId: row.id, ...describeError(error) });
    }
  }
  return opened;
}

/** What a confirmation is for: a tenant HTTP tool, or an integration tool (`operatorOnly`: the person's yes is not enough). */
export type ApprovalSubject = { toolId: string } | { integrationTool: string; operatorOnly?: boolean };

export type ApprovalGate = { status: "approved" } | { status: "pending" | "rejected"; approvalId: string; code: string };

/** What the model is told when a call waits for consent or was declined: one wording for every kind of tool. */
export function confirmationPrompt(
  toolName: string,
  gate: Exclude<ApprovalGate, { status: "approved" }>,
  input: Record<string, unknown>,
  subject: ApprovalSubject,
): string {
  if (gate.status === "rejected")
    return `Not run: "${toolName}" with these details was declined in this conversation (request ${gate.approvalId}). Do not try it again; tell the user it was not done.`;
  if ("integrationTool" in subject && subject.operatorOnly)
    return `Not run yet: "${toolName}" needs a staff member's approval (request ${gate.approvalId}). Tell the user exactly what was requested (${describeCall(input)}) and that a person will review it; do not ask them to confirm.`;
  return `Not run: "${toolName}" needs confirmation first (request ${gate.approvalId}). Show the user exactly what will be done (${describeCall(input)}) and ask them to reply "CONFIRM ${gate.code}" to go ahead or "NO" to cancel; nothing else counts as a yes. An operator can also approve it.`;
}

/** The turn's tenant and conversation, from the runnable config (never from the model's arguments). */
interface RunContext {
  tenantId: string;
  conversationId: string;
}

/**
 * LangChain tools for the turn (`tool(fn, { name, description, schema })`): the schema is the
 * tool's JSON Schema as zod, so LangChain refuses arguments that do not match before `fn` runs,
 * and `runTool` checks them again before any request. Each call returns its record (tool,
 * arguments masked, outcome, status, latency, response size) as the tool message's artifact, for
 * the turn's usage record, and is logged.
 */
export function buildLangChainTools(
  runnables: RunnableTool[],
  deps: ToolRuntime & { db: Database; logger: Logger },
): StructuredToolInterface[] {
  return runnables.map((runnable) =>
    tool(
      async (input: Record<string, unknown>, config): Promise<[string, { toolCall: ToolCallRecord }]> => {
        const context = (config?.configurable ?? {}) as Partial<RunContext>;
        const started = performance.now();
        const base = { name: runnable.name, toolId: runnable.id };
        if (context.tenantId !== runnable.tenantId || !context.conversationId) {
          // Cannot happen through the turn; refuse rather than run a tool outside its tenant.
          return ["This tool is not available here.", { toolCall: { ...base, ok: false, outcome: "no_context" } }];
        }
        if (runnable.requiresApproval) {
          const subject: ApprovalSubject = { toolId: runnable.id };
          const gate = await approvalGate(deps.db, context as RunContext, subject, input);
          if (gate.status !== "approved") {
            const record: ToolCallRecord = {
              ...base,
              ok: false,
              outcome: gate.status === "rejected" ? "approval_rejected" : "approval_required",
              arguments: maskSecrets(input),
              latencyMs: Math.round(performance.now() - started),
              responseBytes: 0,
            };
            deps.logger.log("info", "tool.call", {
              tenantId: runnable.tenantId,
              conversationId: context.conversationId,
              tool: runnable.name,
              toolId: runnable.id,
              outcome: gate.status === "rejected" ? "approval_rejected" : "approval_required",
              approvalId: gate.approvalId,
            });
            return [confirmationPrompt(runnable.name, gate, input, subject), { toolCall: record }];
          }
        }
        const result = await runTool(runnable, input, deps);
        logCall(deps.logger, runnable, context.conversationId, result);
        return [result.output, { toolCall: recordOf(runnable, result) }];
      },
      {
        name: runnable.name,
        description: runnable.description,
        schema: argumentsSchema(runnable.parameters),
        responseFormat: "content_and_artifact",
      },
    ),
  );
}

export function recordOf(runnable: RunnableTool, result: ToolRunResult): ToolCallRecord {
  return {
    name: runnable.name,
    toolId: runnable.id,
    ok: result.ok,
    outcome: result.outcome,
    arguments: result.arguments,
    ...(result.status !== undefined ? { status: result.status } : {}),
    latencyMs: result.latencyMs,
    responseBytes: result.responseBytes,
  };
}

function logCall(logger: Logger, runnable: RunnableTool, conversationId: string | undefined, result: ToolRunResult) {
  logger.log(result.ok ? "info" : "warn", "tool.call", {
    tenantId: runnable.tenantId,
    ...(conversationId ? { conversationId } : {}),
    tool: runnable.name,
    toolId: runnable.id,
    arguments: result.arguments,
    outcome: result.outcome,
    status: result.status,
    latencyMs: result.latencyMs,
    responseBytes: result.responseBytes,
  });
}

/**
 * Whether a call to an approval-requiring tool may run now. Consent is explicit and bound to the one
 * call (tool, conversation, exact arguments): it runs once when an operator approved it through the
 * API, or when the person replied with the call's confirmation code (`CONFIRM <code>`, or the code
 * alone) after it was asked for. A reply that starts with a no ("no", "cancel", "stop") rejects it, and
 * a rejected call stays rejected in that conversation unless an operator approves it. Any other
 * message is not consent: the request stays pending. Pending requests expire after
 * {@link APPROVAL_TTL_HOURS} hours; a later identical call asks again.
 */
export async function approvalGate(
  db: Database,
  context: RunContext,
  subject: ApprovalSubject,
  input: Record<string, unknown>,
): Promise<ApprovalGate> {
  const argumentsHash = await hashArguments(input);
  const operatorOnly = "integrationTool" in subject && subject.operatorOnly === true;
  return withTenant(db, context.tenantId, async (tx) => {
    const scope = and(
      eq(toolApprovals.tenantId, context.tenantId),
      "toolId" in subject ? eq(toolApprovals.toolId, subject.toolId) : eq(toolApprovals.integrationTool, subject.integrationTool),
      eq(toolApprovals.conversationId, context.conversationId),
      eq(toolApprovals.argumentsHash, argumentsHash),
      inArray(toolApprovals.status, ["pending", "approved", "rejected"]),
      // An expired request is as if it had never been made; a rejection does not expire.
      or(ne(toolApprovals.status, "pending"), sql`${toolApprovals.createdAt} > now() - make_interval(hours => ${APPROVAL_TTL_HOURS})`),
    );
    const [existing] = await tx.select().from(toolApprovals).where(scope).orderBy(desc(toolApprovals.createdAt)).limit(1).for("update");
    if (existing) {
      const code = await confirmationCode(existing.id);
      const decide = async (status: "used" | "rejected", decidedBy: string) =>
        tx
          .update(toolApprovals)
          .set({ status, decidedBy, decidedAt: existing.decidedAt ?? sql`now()` })
          .where(and(eq(toolApprovals.tenantId, context.tenantId), eq(toolApprovals.id, existing.id)));
      if (existing.status === "rejected") return { status: "rejected" as const, approvalId: existing.id, code };
      if (existing.status === "approved") {
        await decide("used", existing.decidedBy ?? "operator");
        return { status: "approved" as const };
      }
      const replies = await tx
        .select({ content: messages.content })
        .from(messages)
        .where(
          and(
            eq(messages.tenantId, context.tenantId),
            eq(messages.conversationId, context.conversationId),
            eq(messages.direction, "inbound"),
            // Compared in the database: microseconds there, milliseconds in a JS Date.
            gt(messages.createdAt, sql`(select a.created_at from tool_approvals a where a.id = ${existing.id})`),
          ),
        )
        .orderBy(asc(messages.createdAt));
      for (const { content } of replies) {
        const answer = readConfirmation(content, code);
        // A call only an operator may approve: the person's "yes" is not consent enough (their "no" still counts).
        if (answer === "confirm" && !operatorOnly) {
          await decide("used", "user");
          return { status: "approved" as const };
        }
        if (answer === "reject") {
          await decide("rejected", "user");
          return { status: "rejected" as const, approvalId: existing.id, code };
        }
      }
      return { status: "pending" as const, approvalId: existing.id, code };
    }
    const [created] = await tx
      .insert(toolApprovals)
      .values({
        tenantId: context.tenantId,
        ...("toolId" in subject ? { toolId: subject.toolId } : { integrationTool: subject.integrationTool }),
        conversationId: context.conversationId,
        arguments: maskSecrets(input) as Record<string, unknown>,
        argumentsHash,
      })
      .returning({ id: toolApprovals.id });
    return { status: "pending" as const, approvalId: created!.id, code: await confirmationCode(created!.id) };
  });
}

const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/** Six characters bound to one approval request (derived from its id: nothing to store, nothing to guess from the call). */
export async function confirmationCode(approvalId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`tool-approval:${approvalId}`)));
  return Array.from(digest.slice(0, 6), (byte) => CODE_ALPHABET[byte % CODE_ALPHABET.length]).join("");
}

/**
 * What a person's message says about a pending call: `confirm` only with its exact code
 * ("CONFIRM K7QX2M" or "K7QX2M"), `reject` for any message that starts with a no ("no", "no, do
 * NOT refund", "cancel", "stop", "don't"), anything else nothing.
 */
export function readConfirmation(text: string, code: string): "confirm" | "reject" | undefined {
  const words = text
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[^A-Z0-9' ]+/g, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const said = words.join(" ");
  if (said === code || said === `CONFIRM ${code}` || said === `YES ${code}` || said === `APPROVE ${code}`) return "confirm";
  // A reply that starts with a no is a no, whatever follows ("no, do NOT refund"): fail closed.
  if (["NO", "NOPE", "CANCEL", "STOP", "DON'T", "DONT", "REJECT", "NEVER"].includes(words[0] ?? "")) return "reject";
  return undefined;
}

async function hashArguments(input: Record<string, unknown>): Promise<string> {
  const canonical = JSON.stringify(sortKeys(input));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return Buffer.from(digest).toString("hex");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  return value;
}

let platformRuntime: ToolRuntime | undefined;

/** The agent's enabled HTTP tools as LangChain tools, loaded in their own tenant transaction. */
export async function agentHttpTools(
  deps: { db: Database; keyring: Keyring; tools?: ToolRuntime },
  agent: { tenantId: string; toolIds: string[] },
  logger: Logger,
): Promise<StructuredToolInterface[]> {
  if (agent.toolIds.length === 0) return [];
  const runtime = deps.tools ?? (platformRuntime ??= { fetch: createSafeFetch(), tokens: new OAuthTokenCache() });
  const runnables = await withTenant(deps.db, agent.tenantId, (tx) =>
    loadAgentTools(tx, deps.keyring, agent.tenantId, agent.toolIds, logger),
  );
  return buildLangChainTools(runnables, { ...runtime, db: deps.db, logger });
}

/** The call's arguments, secrets masked, for the confirmation the person is shown. */
function describeCall(input: Record<string, unknown>): string {
  return JSON.stringify(maskSecrets(input)).slice(0, 500);
}
