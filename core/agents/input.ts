import { z } from "zod";
import { BUILTIN_TOOL_NAMES } from "../engine/tools";
import { INTEGRATION_TOOL_NAMES } from "../integrations/registry";
import { modelPolicy } from "../tenants/settings";
import { parseOrThrow as parseWithDetails } from "../errors";

const fields = {
  name: z.string().trim().min(1).max(100),
  systemPrompt: z.string().trim().min(1).max(20_000),
  /** Null: the tenant's default policy. */
  modelPolicy: modelPolicy.nullable(),
  temperature: z.number().min(0).max(2),
  maxOutputTokens: z.number().int().min(16).max(8192),
  /** Recent messages the model sees verbatim; older ones are summarised (core/engine/memory.ts). */
  memoryWindow: z.number().int().min(2).max(100),
  toolIds: z.array(z.uuid()).max(50),
  builtinTools: z.array(z.enum(BUILTIN_TOOL_NAMES)).max(10),
  /** Tools of the tenant's integrations, `<provider>.<tool>` (`hubspot.find_contact`); each needs its provider connected to work. */
  integrationTools: z.array(z.enum(INTEGRATION_TOOL_NAMES as [string, ...string[]])).max(50),
  /** Knowledge bases: all their ready sources, present and future. */
  knowledgeBaseIds: z.array(z.uuid()).max(20),
  /** Single sources, for an agent that should see only part of a base. */
  knowledgeSourceIds: z.array(z.uuid()).max(100),
  /** Channels this agent answers on; assigning moves the channel from its current agent. */
  channelIds: z.array(z.uuid()).max(50),
};

/** Body of "create an agent": name and system prompt required, the rest defaulted. */
export const createAgentInput = z
  .object({
    ...fields,
    modelPolicy: fields.modelPolicy.default(null),
    temperature: fields.temperature.default(0.3),
    maxOutputTokens: fields.maxOutputTokens.default(512),
    memoryWindow: fields.memoryWindow.default(12),
    toolIds: fields.toolIds.default([]),
    builtinTools: fields.builtinTools.default([]),
    integrationTools: fields.integrationTools.default([]),
    knowledgeBaseIds: fields.knowledgeBaseIds.default([]),
    knowledgeSourceIds: fields.knowledgeSourceIds.default([]),
    channelIds: fields.channelIds.default([]),
  })
  .strict();

/** Body of "update an agent": any subset of the fields; at least one. */
export const updateAgentChanges = z
  .object(fields)
  .partial()
  .strict()
  .refine((changes) => Object.keys(changes).length > 0, { message: "nothing to change" });

export type CreateAgentInput = z.input<typeof createAgentInput>;
export type UpdateAgentChanges = z.input<typeof updateAgentChanges>;

export const agentIdInput = z.object({ agentId: z.uuid() });

/**
 * The agents verbs' `parseOrThrow`: `INVALID_AGENT` (422) with every issue, unless the caller names
 * its own code and message.
 */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  failure: { code: string; message: string } = { code: "INVALID_AGENT", message: "the agent is not valid" },
): z.output<T> {
  return parseWithDetails(schema, value, { ...failure, limit: Infinity });
}
