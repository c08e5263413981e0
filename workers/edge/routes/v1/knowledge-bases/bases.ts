import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import {
  createKnowledgeBase,
  deleteKnowledgeBase,
  getKnowledgeBase,
  listKnowledgeBases,
  updateKnowledgeBase,
} from "../../../../../core/knowledge/admin";
import { z } from "@hono/zod-openapi";
import { knowledgeQueryResult } from "../../../../../core/tools/runner-protocol";
import type { AppEnv } from "../../../context";
import { callToolRunner } from "../tools/schemas";
import { adminRoute, jsonBody, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import {
  baseParam,
  createKnowledgeBaseSchema,
  enqueueOr503,
  knowledgeBaseSchema,
  knowledgeJobs,
  updateKnowledgeBaseSchema,
} from "./schemas";

const tags = ["Knowledge"];

export const list = adminRoute("knowledge:read", {
  method: "get",
  path: "/",
  tags,
  operationId: "listKnowledgeBases",
  summary: "List knowledge bases",
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(knowledgeBaseSchema, "KnowledgeBasePage"), "A page of knowledge bases") },
});
export const listHandler: RouteHandler<typeof list, AppEnv> = async (c) =>
  c.json(await runVerb(c, listKnowledgeBases, c.req.valid("query")), 200);

export const create = adminRoute("knowledge:write", {
  method: "post",
  path: "/",
  tags,
  operationId: "createKnowledgeBase",
  summary: "Create a knowledge base",
  description:
    "The embedding model is fixed for the life of the base (`hashing:v1-384`, offline, is the default). Chunk size and overlap apply to later ingestion; top-k, score threshold and MMR to retrieval.",
  request: { body: jsonBody(createKnowledgeBaseSchema) },
  responses: { 201: jsonResponse(knowledgeBaseSchema, "The new knowledge base") },
});
export const createHandler: RouteHandler<typeof create, AppEnv> = async (c) =>
  c.json(await runVerb(c, createKnowledgeBase, c.req.valid("json")), 201);

export const get = adminRoute("knowledge:read", {
  method: "get",
  path: "/{knowledgeBaseId}",
  tags,
  operationId: "getKnowledgeBase",
  summary: "Get a knowledge base",
  request: { params: baseParam },
  responses: { 200: jsonResponse(knowledgeBaseSchema, "The knowledge base") },
});
export const getHandler: RouteHandler<typeof get, AppEnv> = async (c) =>
  c.json(await runVerb(c, getKnowledgeBase, c.req.valid("param")), 200);

export const update = adminRoute("knowledge:write", {
  method: "patch",
  path: "/{knowledgeBaseId}",
  tags,
  operationId: "updateKnowledgeBase",
  summary: "Change a knowledge base's settings",
  description: "The embedding model cannot change. New chunk settings apply when a source is next ingested (re-sync it).",
  request: { params: baseParam, body: jsonBody(updateKnowledgeBaseSchema) },
  responses: { 200: jsonResponse(knowledgeBaseSchema, "The updated knowledge base") },
});
export const updateHandler: RouteHandler<typeof update, AppEnv> = async (c) =>
  c.json(await runVerb(c, updateKnowledgeBase, { ...c.req.valid("json"), ...c.req.valid("param") }), 200);

export const remove = adminRoute("knowledge:delete", {
  method: "delete",
  path: "/{knowledgeBaseId}",
  tags,
  operationId: "deleteKnowledgeBase",
  summary: "Delete a knowledge base, its sources and their chunks",
  description: "Refused with 409 `CONFLICT` while an agent answers from the base: detach it from those agents first.",
  request: { params: baseParam },
  responses: { 204: { description: "Deleted; its chunks are removed by a queued job" } },
});
export const removeHandler: RouteHandler<typeof remove, AppEnv> = async (c) => {
  const jobs = knowledgeJobs(c);
  const deleted = await runVerb(c, deleteKnowledgeBase, c.req.valid("param"));
  await enqueueOr503(
    c,
    jobs,
    { kind: "knowledge.delete_base", tenantId: c.get("principal")!.tenantId, knowledgeBaseId: deleted.id },
    "its chunks are no longer retrieved but stay stored",
  );
  return c.body(null, 204);
};

export const query = adminRoute("knowledge:read", {
  method: "post",
  path: "/{knowledgeBaseId}/query",
  tags,
  operationId: "queryKnowledgeBase",
  summary: "Try retrieval: the chunks a turn would get for this question",
  description:
    "Runs in the worker pool exactly as a turn retrieves from this base (its embedding model, top-k, score threshold and MMR, " +
    "ready sources only), and answers the chunks with their source and score, best first. Nothing is recorded.",
  request: {
    params: baseParam,
    body: jsonBody(
      z
        .object({ query: z.string().trim().min(1).max(2000) })
        .strict()
        .openapi("KnowledgeQuery"),
    ),
  },
  responses: { 200: jsonResponse(knowledgeQueryResult.openapi("KnowledgeQueryResult"), "The retrieved chunks, best first") },
});
export const queryHandler: RouteHandler<typeof query, AppEnv> = async (c) => {
  const { knowledgeBaseId } = c.req.valid("param");
  // The permission check and the tenant-scoped lookup (another tenant's id answers 404) happen here.
  await runVerb(c, getKnowledgeBase, { knowledgeBaseId });
  const result = await callToolRunner(
    c,
    "/knowledge/query",
    { tenantId: c.get("principal")!.tenantId, knowledgeBaseId, query: c.req.valid("json").query },
    "Retrieval cannot be tried right now.",
  );
  return c.json(knowledgeQueryResult.parse(result), 200);
};
