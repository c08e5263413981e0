import type { RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import {
  createKnowledgeBase,
  deleteKnowledgeBase,
  getKnowledgeBase,
  listKnowledgeBases,
  updateKnowledgeBase,
} from "../../../../../core/knowledge/admin";
import type { AppEnv } from "../../../context";
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
