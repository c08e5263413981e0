import type { StructuredToolInterface } from "@langchain/core/tools";
import { tool } from "langchain";
import { z } from "zod";

/**
 * Built-in tools an agent may be given by name (`agents.builtin_tools`). They need no outbound
 * HTTP and no secrets; tenant-defined HTTP tools (`tools` table) run through the SSRF-safe client
 * of the tools capability and are not resolved here.
 */
export const BUILTIN_TOOL_NAMES = ["current_time"] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

export function builtinTools(names: readonly string[], options: { timezone: string; now?: () => Date }): StructuredToolInterface[] {
  const now = options.now ?? (() => new Date());
  const factories: Record<BuiltinToolName, () => StructuredToolInterface> = {
    current_time: () =>
      tool(
        async ({ timezone }) => {
          const zone = timezone ?? options.timezone;
          try {
            return new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeStyle: "long", timeZone: zone }).format(now());
          } catch {
            return `Unknown time zone: ${zone}`;
          }
        },
        {
          name: "current_time",
          description: "The current date and time, in the business's time zone unless another IANA zone is given.",
          schema: z.object({ timezone: z.string().max(64).optional().describe("IANA time zone, e.g. Europe/Paris") }),
        },
      ),
  };
  return names.filter((name): name is BuiltinToolName => name in factories).map((name) => factories[name]());
}
