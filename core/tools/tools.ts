import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { agents, tools, type Tool } from "../../db/schema";
import { recordAudit } from "../access/audit";
import { keyset, type Page, type PageInput } from "../access/pagination";
import { requirePermission } from "../access/permissions";
import { getAgent, updateAgent } from "../agents/agents";
import type { DomainContext } from "../agents/context";
import { sealCredentials, type Keyring } from "../crypto/secrets";
import { checkUrlLiteral, UnsafeUrlError, type OutboundPolicy } from "../http/url-policy";
import type { SECRET_AUTH_FIELDS } from "./definition";
import {
  checkToolDefinition,
  createToolInput,
  MASK,
  publicAuth,
  updateToolInput,
  type AuthConfig,
  type CreateToolInput,
  type ToolDefinition,
  type UpdateToolInput,
} from "./definition";
import { importToolsInput, OpenApiImportError, parseOpenApiDocument, toolsFromOpenApi, type ImportToolsInput } from "./openapi-import";
import { conflictOnDuplicate, DomainError, parseOrThrow, secretsUnavailable } from "../errors";

/** A tool as the API shows it: secrets of its auth configuration replaced by the mask. */
export const toolDto = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  method: z.string(),
  urlTemplate: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  parameterLocations: z.record(z.string(), z.string()),
  responseMapping: z.object({ path: z.string().optional(), maxBytes: z.number() }),
  timeoutMs: z.number(),
  requiresApproval: z.boolean(),
  enabled: z.boolean(),
  auth: z.record(z.string(), z.unknown()).describe("`type` and the non-secret fields; secrets show as ********"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ToolDto = z.infer<typeof toolDto>;

/** What the tool verbs need besides the context: the keyring that seals credentials and the outbound policy. */
export interface ToolServices {
  keyring: Keyring | undefined;
  policy: OutboundPolicy;
}

/** The tool verbs' services, from `ctx.services` (the edge's keyring and TOOLS_ALLOWED_HOSTS). */
function toolServicesOf(ctx: DomainContext): ToolServices {
  return { keyring: ctx.services?.keyring, policy: ctx.services?.toolUrlPolicy ?? {} };
}

const notFound = () => new DomainError("TOOL_NOT_FOUND", 404, "tool not found");
const iso = (date: Date) => date.toISOString();

export function toToolDto(tool: Tool): ToolDto {
  const masked = Object.fromEntries(secretFieldsOf(tool.authType).map((field) => [field, MASK]));
  return {
    id: tool.id,
    name: tool.name,
    description: tool.description,
    method: tool.method,
    urlTemplate: tool.urlTemplate,
    parameters: tool.parameters,
    parameterLocations: tool.parameterLocations,
    responseMapping: tool.responseMapping,
    timeoutMs: tool.timeoutMs,
    requiresApproval: tool.requiresApproval,
    enabled: tool.enabled,
    auth: { type: tool.authType, ...tool.authPublic, ...masked },
    createdAt: iso(tool.createdAt),
    updatedAt: iso(tool.updatedAt),
  };
}

function secretFieldsOf(type: Tool["authType"]): Array<(typeof SECRET_AUTH_FIELDS)[number]> {
  return ({ none: [], api_key: ["value"], bearer: ["token"], basic: ["password"], oauth2_client_credentials: ["clientSecret"] } as const)[
    type
  ].slice();
}

/** The tenant's tool with this id (row-level security and the tenant in the query), or TOOL_NOT_FOUND. */
export async function findTool(ctx: DomainContext, toolId: string, options: { forUpdate?: boolean } = {}): Promise<Tool> {
  if (!z.uuid().safeParse(toolId).success) throw notFound();
  const query = ctx.tx
    .select()
    .from(tools)
    .where(and(eq(tools.tenantId, ctx.tenantId), eq(tools.id, toolId)));
  const [tool] = options.forUpdate ? await query.for("update") : await query;
  if (!tool) throw notFound();
  return tool;
}

export async function listTools({ ctx, input }: { ctx: DomainContext; input: PageInput }): Promise<Page<ToolDto>> {
  requirePermission(ctx, "tools:read");
  const page = keyset(tools, input);
  const rows = await ctx.tx
    .select({ tool: tools, id: tools.id, cursorAt: page.cursorColumn })
    .from(tools)
    .where(and(eq(tools.tenantId, ctx.tenantId), page.after))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return page.page(rows, (row) => toToolDto(row.tool));
}

export async function getTool({ ctx, input }: { ctx: DomainContext; input: { toolId: string } }): Promise<ToolDto> {
  requirePermission(ctx, "tools:read");
  return toToolDto(await findTool(ctx, input.toolId));
}

function checked(
  definition: Parameters<typeof checkToolDefinition>[0],
  services: ToolServices,
  auth: AuthConfig | undefined,
): ToolDefinition {
  return checkToolDefinition(definition, services.policy, auth);
}

async function sealAuth(services: ToolServices, tenantId: string, toolId: string, auth: AuthConfig) {
  if (auth.type === "none") return { authType: "none" as const, authPublic: {}, authConfig: null };
  if (!services.keyring) throw secretsUnavailable();
  const authConfig = await sealCredentials(services.keyring, { tenantId, owner: `tool:${toolId}` }, auth);
  return { authType: auth.type, authPublic: publicAuth(auth), authConfig };
}

const INVALID_TOOL = { code: "INVALID_TOOL", message: "The tool definition is invalid." };

/** Creates a tool; its credentials are sealed bound to the tenant and `tool:<id>`. */
export async function createTool({ ctx, input }: { ctx: DomainContext; input: CreateToolInput }): Promise<ToolDto> {
  const services = toolServicesOf(ctx);
  requirePermission(ctx, "tools:write");
  const { auth, enabled, ...rest } = parseOrThrow(createToolInput, input, INVALID_TOOL);
  const definition = checked(rest, services, auth);
  const id = crypto.randomUUID();
  const sealed = await sealAuth(services, ctx.tenantId, id, auth);
  const [row] = await conflictOnDuplicate(
    ctx.tx
      .insert(tools)
      .values({ id, tenantId: ctx.tenantId, ...definition, enabled, ...sealed })
      .returning(),
    `A tool named "${definition.name}" exists.`,
  );
  const dto = toToolDto(row!);
  await recordAudit(ctx, { action: "tool.create", resourceType: "tool", resourceId: id, after: dto });
  return dto;
}

export async function updateTool({ ctx, input }: { ctx: DomainContext; input: UpdateToolInput & { toolId: string } }): Promise<ToolDto> {
  const services = toolServicesOf(ctx);
  requirePermission(ctx, "tools:write");
  const { toolId, ...changes } = input;
  const valid = parseOrThrow(updateToolInput, changes, INVALID_TOOL);
  const current = await findTool(ctx, toolId, { forUpdate: true });
  const { auth, ...fields } = valid;
  // Stored credentials were given for one server: pointing the tool at another origin (scheme, host
  // or port) must not carry them there unseen. The new origin needs them entered again, here.
  if (
    fields.urlTemplate !== undefined &&
    current.authType !== "none" &&
    !auth &&
    originOf(fields.urlTemplate) !== originOf(current.urlTemplate)
  ) {
    throw new DomainError(
      "CREDENTIALS_REQUIRED",
      422,
      "The tool now points at another server: enter its credentials again (auth) in the same request, or set auth to none.",
      [{ path: "auth", message: "required when the URL's scheme, host or port changes" }],
    );
  }
  // Locations are re-derived for parameters that no longer have one (e.g. the URL changed).
  const definition = checked(
    {
      name: fields.name ?? current.name,
      description: fields.description ?? current.description,
      method: fields.method ?? current.method,
      urlTemplate: fields.urlTemplate ?? current.urlTemplate,
      parameters: (fields.parameters ?? current.parameters) as ToolDefinition["parameters"],
      parameterLocations:
        fields.parameterLocations ?? (fields.parameters || fields.urlTemplate || fields.method ? {} : current.parameterLocations),
      responseMapping: fields.responseMapping ?? current.responseMapping,
      timeoutMs: fields.timeoutMs ?? current.timeoutMs,
      requiresApproval: fields.requiresApproval ?? current.requiresApproval,
    },
    services,
    auth,
  );
  const sealed = auth ? await sealAuth(services, ctx.tenantId, current.id, auth) : {};
  const [row] = await conflictOnDuplicate(
    ctx.tx
      .update(tools)
      .set({ ...definition, ...sealed, updatedAt: sql`now()` })
      .where(and(eq(tools.tenantId, ctx.tenantId), eq(tools.id, current.id)))
      .returning(),
    `A tool named "${definition.name}" exists.`,
  );
  const dto = toToolDto(row!);
  await recordAudit(ctx, { action: "tool.update", resourceType: "tool", resourceId: current.id, before: toToolDto(current), after: dto });
  return dto;
}

export async function setToolEnabled({
  ctx,
  input,
}: {
  ctx: DomainContext;
  input: { toolId: string; enabled: boolean };
}): Promise<ToolDto> {
  requirePermission(ctx, "tools:write");
  const current = await findTool(ctx, input.toolId, { forUpdate: true });
  const [row] = await ctx.tx
    .update(tools)
    .set({ enabled: input.enabled, updatedAt: sql`now()` })
    .where(and(eq(tools.tenantId, ctx.tenantId), eq(tools.id, current.id)))
    .returning();
  const dto = toToolDto(row!);
  await recordAudit(ctx, {
    action: input.enabled ? "tool.enable" : "tool.disable",
    resourceType: "tool",
    resourceId: current.id,
    before: toToolDto(current),
    after: dto,
  });
  return dto;
}

/** The live agents whose configuration names the tool. */
async function agentsUsing(ctx: DomainContext, toolId: string): Promise<string[]> {
  const rows = await ctx.tx
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.tenantId, ctx.tenantId), isNull(agents.deletedAt), sql`${agents.toolIds} @> ${JSON.stringify([toolId])}::jsonb`));
  return rows.map((row) => row.id);
}

/** Deletes a tool; refused while an agent still uses it (detach it first, which makes a new agent version). */
export async function deleteTool({ ctx, input }: { ctx: DomainContext; input: { toolId: string } }): Promise<void> {
  requirePermission(ctx, "tools:delete");
  const current = await findTool(ctx, input.toolId, { forUpdate: true });
  const using = await agentsUsing(ctx, current.id);
  if (using.length) throw new DomainError("TOOL_IN_USE", 409, "agents still use this tool; detach it from them first", { agentIds: using });
  await ctx.tx.delete(tools).where(and(eq(tools.tenantId, ctx.tenantId), eq(tools.id, current.id)));
  await recordAudit(ctx, { action: "tool.delete", resourceType: "tool", resourceId: current.id, before: toToolDto(current) });
}

/**
 * Gives an agent the tool (or takes it away). The agent's `toolIds` is the one record of which
 * tools it may use, and it is versioned: attaching makes a new agent version, like any other
 * change to the agent, so a rollback restores the tools too.
 */
export async function attachTool({ ctx, input }: { ctx: DomainContext; input: { toolId: string; agentId: string; attached: boolean } }) {
  requirePermission(ctx, "tools:write");
  requirePermission(ctx, "agents:write");
  const tool = await findTool(ctx, input.toolId);
  const agent = await getAgent({ ctx, input: { agentId: input.agentId } });
  const has = agent.toolIds.includes(tool.id);
  if (has === input.attached) return agent;
  const toolIds = input.attached ? [...agent.toolIds, tool.id] : agent.toolIds.filter((id) => id !== tool.id);
  return updateAgent({ ctx, input: { agentId: agent.id, changes: { toolIds } } });
}

/**
 * Creates one tool per chosen operation of an OpenAPI 3 document, in one transaction (all or
 * none). A document given by URL is fetched with `fetchDocument` (the pool's SSRF-safe client).
 */
export async function importTools({ ctx, input }: { ctx: DomainContext; input: ImportToolsInput }): Promise<{ data: ToolDto[] }> {
  const services = { ...toolServicesOf(ctx), fetchDocument: ctx.services?.fetchDocument };
  requirePermission(ctx, "tools:write");
  const { document, url, ...options } = parseOrThrow(importToolsInput, input, {
    code: "INVALID_OPENAPI",
    message: "The import request is invalid.",
  });
  let source: string | Record<string, unknown>;
  if (document !== undefined) source = document;
  else {
    // The same save-time policy as a tool's own URL (TOOLS_ALLOWED_HOSTS); the runner checks every resolved address again.
    try {
      checkUrlLiteral(url!, services.policy);
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw new OpenApiImportError(`The document URL is not allowed: ${error.message}`);
      throw error;
    }
    if (!services.fetchDocument)
      throw new OpenApiImportError("Importing from a URL is not available right now; upload the document instead.");
    source = await services.fetchDocument(url!);
  }
  const definitions: CreateToolInput[] = toolsFromOpenApi(parseOpenApiDocument(source), options);
  const created: ToolDto[] = [];
  for (const definition of definitions) created.push(await createTool({ ctx, input: definition }));
  return { data: created };
}

/** `scheme://host:port` of a URL template (placeholders only ever sit in the path). */
function originOf(urlTemplate: string): string {
  try {
    return new URL(urlTemplate.replace(/\{[^}]*\}/g, "p")).origin;
  } catch {
    return urlTemplate;
  }
}
