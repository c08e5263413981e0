import { z, type RouteHandler } from "@hono/zod-openapi";
import {
  compareTestRuns,
  createTestRun,
  createTestRunInput,
  failTestRun,
  getTestRun,
  listTestRuns,
  testRunDto,
} from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import { adminRoute, jsonBody, jsonResponse } from "../openapi";
import { runVerb } from "../run";
import { callToolRunner } from "../tools/schemas";
import { agentIdParam } from "./schemas";

const testRunSchema = testRunDto.openapi("AgentTestRun");
const runParam = agentIdParam.extend({
  runId: z.uuid().openapi({ param: { name: "runId", in: "path" }, example: "00000000-0000-4000-8000-000000000000" }),
});

export const createRoute = adminRoute("agents:write", {
  method: "post",
  path: "/{agentId}/test-runs",
  tags: ["Agents"],
  operationId: "createAgentTestRun",
  summary: "Run a test suite against the draft or the published version",
  description:
    "The suite (YAML or JSON text, or a JSON object) is checked first: a bad one answers 400 (`INVALID_REQUEST`, reason " +
    "`INVALID_TEST_SUITE`) with each issue's path, line and column. The worker pool then runs each case in an isolated " +
    "conversation (never sent to a channel, not in analytics or billing; tools answered by the case's stubs). Poll " +
    "`GET …/test-runs/{runId}` until `status` is `passed`, `failed` or `error`.",
  request: { params: agentIdParam, body: jsonBody(createTestRunInput.openapi("CreateAgentTestRun")) },
  responses: { 202: jsonResponse(testRunSchema, "The run, `running`") },
});

export const createHandler: RouteHandler<typeof createRoute, AppEnv> = async (c) => {
  const run = await runVerb(c, createTestRun, { ...c.req.valid("param"), ...c.req.valid("json") });
  try {
    await callToolRunner(
      c,
      "/agents/test-runs",
      { tenantId: c.get("principal")!.tenantId, runId: run.id },
      "Test runs cannot start right now.",
    );
  } catch (error) {
    if (error instanceof ApiError) await runVerb(c, failTestRun, { runId: run.id, error: error.message });
    throw error;
  }
  return c.json(run, 202);
};

export const getRoute = adminRoute("agents:read", {
  method: "get",
  path: "/{agentId}/test-runs/{runId}",
  tags: ["Agents"],
  operationId: "getAgentTestRun",
  summary: "A test run: status, and per case and turn the reply and unmet expectations",
  request: { params: runParam },
  responses: { 200: jsonResponse(testRunSchema, "The run") },
});

export const getHandler: RouteHandler<typeof getRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, getTestRun, c.req.valid("param")), 200);

export const listRoute = adminRoute("agents:read", {
  method: "get",
  path: "/{agentId}/test-runs",
  tags: ["Agents"],
  operationId: "listAgentTestRuns",
  summary: "The agent's test runs, newest first (the latest 50)",
  request: { params: agentIdParam },
  responses: { 200: jsonResponse(z.object({ data: z.array(testRunSchema) }).openapi("AgentTestRunList"), "The runs") },
});

export const listHandler: RouteHandler<typeof listRoute, AppEnv> = async (c) =>
  c.json({ data: await runVerb(c, listTestRuns, c.req.valid("param")) }, 200);

export const compareRoute = adminRoute("agents:read", {
  method: "get",
  path: "/{agentId}/test-runs/{runId}/compare/{otherRunId}",
  tags: ["Agents"],
  operationId: "compareAgentTestRuns",
  summary: "Two runs side by side (e.g. published and draft): each case's outcome in both, changes marked",
  request: {
    params: runParam.extend({
      otherRunId: z.uuid().openapi({ param: { name: "otherRunId", in: "path" }, example: "00000000-0000-4000-8000-000000000000" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          before: testRunSchema,
          after: testRunSchema,
          cases: z.array(
            z.object({
              name: z.string(),
              before: z.boolean().nullable(),
              after: z.boolean().nullable(),
              changed: z.boolean(),
              failuresBefore: z.array(z.string()),
              failuresAfter: z.array(z.string()),
            }),
          ),
        })
        .openapi("AgentTestRunComparison"),
      "The comparison",
    ),
  },
});

export const compareHandler: RouteHandler<typeof compareRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, compareTestRuns, c.req.valid("param")), 200);
