import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createToolInput, updateToolInput } from "../../../../../core/tools/definition";
import { importToolsInput } from "../../../../../core/tools/openapi-import";
import { signRunnerRequest, toolTestResult } from "../../../../../core/tools/runner-protocol";
import { approvalDto } from "../../../../../core/tools/approvals";
import { toolDto } from "../../../../../core/tools/tools";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";

/** The core schemas, named for the OpenAPI document. */
export const toolSchema = toolDto.openapi("Tool");
export const createToolSchema = createToolInput.openapi("CreateTool");
export const updateToolSchema = updateToolInput.openapi("UpdateTool");
export const importToolsSchema = importToolsInput.openapi("ImportTools");
export const approvalSchema = approvalDto.openapi("ToolApproval");
export const toolTestSchema = toolTestResult.openapi("ToolTestResult");
export const testToolSchema = z
  .object({ arguments: z.record(z.string(), z.unknown()).default({}) })
  .strict()
  .openapi("TestTool");

/**
 * Calls the pool's runner (signed). The edge cannot resolve DNS or pin an address, so tool tests and
 * imports by URL execute in the pool, behind the full SSRF checks; retrieval tests run there too,
 * beside the vector store. `what` names the capability in the 503 when the runner is not there.
 */
export async function callToolRunner(
  c: Context<AppEnv>,
  path: "/tools/test" | "/documents/fetch" | "/knowledge/query" | "/agents/test-runs",
  payload: unknown,
  what = "Tools cannot be run right now.",
): Promise<unknown> {
  const config = c.get("services").config;
  const unavailable = () => new ApiError(503, "TOOL_RUNNER_UNAVAILABLE", what);
  if (!config.TOOL_RUNNER_URL || !config.SECRETS_KEYRING) throw unavailable();
  const body = JSON.stringify(payload);
  let response: Response;
  try {
    response = await fetch(`${config.TOOL_RUNNER_URL.replace(/\/$/, "")}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-tool-runner-signature": await signRunnerRequest(config.SECRETS_KEYRING, body) },
      body,
      signal: AbortSignal.timeout(45_000),
    });
  } catch {
    throw unavailable();
  }
  if (response.status === 404) throw new ApiError(404, "NOT_FOUND", "No such tool.");
  if (response.status === 409 && ((await response.json().catch(() => ({}))) as { error?: string }).error === "SECRET_UNREADABLE") {
    throw new ApiError(
      409,
      "SECRET_UNREADABLE",
      "The tool's stored credentials cannot be read any more; enter them again (PATCH the tool's auth).",
    );
  }
  if (!response.ok) throw unavailable();
  return response.json();
}
