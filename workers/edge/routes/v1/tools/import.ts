import type { RouteHandler } from "@hono/zod-openapi";
import { importTools } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { z } from "@hono/zod-openapi";
import { callToolRunner, importToolsSchema, toolSchema } from "./schemas";

export const route = adminRoute("tools:write", {
  method: "post",
  path: "/import",
  tags: ["Tools"],
  operationId: "importTools",
  summary: "Create tools from an OpenAPI 3 document",
  description:
    "Give the document (JSON or YAML text, or JSON) or a URL (fetched by the worker pool through the SSRF-safe client). Each chosen operation becomes a tool: path, query and header parameters and the JSON body's properties become its parameters; the document's security scheme (API key, bearer, basic, OAuth2 client credentials) its auth, with the secrets given in `credentials`. All or none.",
  request: { body: jsonBody(importToolsSchema) },
  responses: { 201: jsonResponse(z.object({ data: z.array(toolSchema) }).openapi("ImportedTools"), "The tools created") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const fetchDocument = async (url: string) => {
    const fetched = (await callToolRunner(c, "/documents/fetch", { url })) as {
      status?: number;
      body?: string;
      error?: string;
      message?: string;
    };
    if (fetched.error || fetched.status !== 200 || typeof fetched.body !== "string") {
      throw new ApiError(422, "INVALID_REQUEST", fetched.message ?? `The document could not be fetched (HTTP ${fetched.status ?? "?"}).`, {
        reason: fetched.error ?? "DOCUMENT_FETCH_FAILED",
      });
    }
    return fetched.body;
  };
  return c.json(await runVerb(c, importTools, c.req.valid("json"), { fetchDocument }), 201);
};
