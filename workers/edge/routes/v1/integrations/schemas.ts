import { z } from "@hono/zod-openapi";
import { catalogueEntry, connectionDto, connectionTestResult } from "../../../../../core/integrations/connections";
import { PROVIDER_IDS } from "../../../../../core/integrations/types";

/** The core schemas, named for the OpenAPI document. */
export const connectionSchema = connectionDto.openapi("IntegrationConnection");
export const catalogueSchema = z.object({ data: z.array(catalogueEntry.openapi("Integration")) }).openapi("IntegrationCatalogue");
export const connectionTestSchema = connectionTestResult.openapi("IntegrationConnectionTest");

export const providerParam = z.object({
  provider: z
    .string()
    .max(40)
    .openapi({ param: { name: "provider", in: "path" }, example: "hubspot", description: `One of ${PROVIDER_IDS.join(", ")}` }),
});

export const connectBody = z
  .discriminatedUnion("method", [
    z.object({ method: z.literal("oauth") }).strict(),
    z
      .object({
        method: z.literal("token"),
        credentials: z.record(z.string(), z.string().max(10_000)).openapi({
          description: "The provider's non-OAuth credentials: see `token.fields` in the catalogue. Encrypted, never returned.",
        }),
      })
      .strict(),
  ])
  .openapi("ConnectIntegration");

export const authorizationSchema = z
  .object({
    authorizationUrl: z.url().openapi({ description: "Send the tenant's browser here; the provider comes back to the callback" }),
    expiresAt: z.string().openapi({ description: "The authorization must finish before this (10 minutes)" }),
  })
  .openapi("IntegrationAuthorization");

export const agentToolsBody = z
  .object({
    tools: z.array(z.string().max(80)).max(50).openapi({
      description: "The provider's tools this agent may use (`find_contact` or `hubspot.find_contact`); an empty list removes them",
    }),
  })
  .strict()
  .openapi("AgentIntegrationTools");
