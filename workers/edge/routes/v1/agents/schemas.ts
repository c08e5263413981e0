import { z } from "@hono/zod-openapi";
import { createAgentInput, updateAgentChanges, type AgentVersionView, type AgentView } from "../../../../../core/agents";

/** The core schemas, named for the OpenAPI document. */
export const createAgentSchema = createAgentInput.openapi("CreateAgent");
export const updateAgentSchema = updateAgentChanges.openapi("UpdateAgent");

const config = {
  name: z.string(),
  systemPrompt: z.string(),
  modelPolicy: z.unknown().openapi({ description: "Ordered model candidates and selection rules; null uses the tenant's default" }),
  temperature: z.number(),
  maxOutputTokens: z.number().int(),
  memoryWindow: z.number().int(),
  toolIds: z.array(z.uuid()),
  builtinTools: z.array(z.string()),
  integrationTools: z.array(z.string()).openapi({ description: "Tools of connected integrations, `<provider>.<tool>`" }),
  knowledgeBaseIds: z
    .array(z.uuid())
    .openapi({ description: "Knowledge bases the agent answers from (every ready source, including later ones)" }),
  knowledgeSourceIds: z.array(z.uuid()).openapi({ description: "Single knowledge sources attached on their own" }),
  channelIds: z.array(z.uuid()),
};

export const agentSchema = z
  .object({
    id: z.uuid(),
    version: z.number().int().openapi({ description: "The draft: the newest version, whose configuration this is" }),
    publishedVersion: z.number().int().openapi({ description: "The version channels answer with" }),
    createdAt: z.string(),
    updatedAt: z.string(),
    ...config,
  })
  .openapi("Agent");

export const agentVersionSchema = z
  .object({
    version: z.number().int(),
    change: z.enum(["create", "update", "rollback"]),
    restoredFrom: z.number().int().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    publishedAt: z.string().nullable().openapi({ description: "When this version was last published; null if never" }),
    publishedBy: z.string().nullable(),
    config: z.object(config),
  })
  .openapi("AgentVersion");

export const agentIdParam = z.object({
  agentId: z.uuid().openapi({ param: { name: "agentId", in: "path" }, example: "00000000-0000-4000-8000-000000000000" }),
});

/** Dates as ISO strings, as JSON carries them. */
export function toAgentDto(agent: AgentView): z.infer<typeof agentSchema> {
  return { ...agent, createdAt: agent.createdAt.toISOString(), updatedAt: agent.updatedAt.toISOString() };
}

export function toAgentVersionDto(version: AgentVersionView): z.infer<typeof agentVersionSchema> {
  return { ...version, createdAt: version.createdAt.toISOString(), publishedAt: version.publishedAt?.toISOString() ?? null };
}
