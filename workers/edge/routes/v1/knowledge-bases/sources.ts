import { z, type RouteHandler } from "@hono/zod-openapi";
import { pageQuery } from "../../../../../core/access/schemas";
import {
  addKnowledgeSource,
  deleteKnowledgeSource,
  getKnowledgeSource,
  listKnowledgeSources,
  resyncKnowledgeSource,
} from "../../../../../core/knowledge/sources-admin";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonBody, jsonResponse, pageOf } from "../openapi";
import { runVerb } from "../run";
import { baseParam, createKnowledgeSourceSchema, enqueueOr503, knowledgeJobs, knowledgeSourceSchema, sourceParam } from "./schemas";

const tags = ["Knowledge"];

export const list = adminRoute("knowledge:read", {
  method: "get",
  path: "/{knowledgeBaseId}/sources",
  tags,
  operationId: "listKnowledgeSources",
  summary: "List a knowledge base's sources with their status",
  description: "Status moves `pending → indexing → ready | failed`; `error` says why a source failed.",
  request: { params: baseParam, query: pageQuery },
  responses: { 200: jsonResponse(pageOf(knowledgeSourceSchema, "KnowledgeSourcePage"), "A page of sources") },
});
export const listHandler: RouteHandler<typeof list, AppEnv> = async (c) =>
  c.json(await runVerb(c, listKnowledgeSources, { ...c.req.valid("query"), ...c.req.valid("param") }), 200);

export const create = adminRoute("knowledge:write", {
  method: "post",
  path: "/{knowledgeBaseId}/sources",
  tags,
  operationId: "createKnowledgeSource",
  summary: "Add a source (upload or URL); indexed in the background",
  description:
    "`kind` is text, markdown, html, pdf, docx, csv or url. Send `text` for text kinds, `contentBase64` for files (at most 5 MiB), or `url` (public http/https only). Answers 202 with the source, `pending`; poll it for `ready` or `failed`.",
  request: { params: baseParam, body: jsonBody(createKnowledgeSourceSchema) },
  responses: { 202: jsonResponse(knowledgeSourceSchema, "Accepted: the source, pending") },
});
export const createHandler: RouteHandler<typeof create, AppEnv> = async (c) => {
  const jobs = knowledgeJobs(c);
  const source = await runVerb(c, addKnowledgeSource, { ...c.req.valid("json"), ...c.req.valid("param") });
  await enqueueOr503(
    c,
    jobs,
    { kind: "knowledge.ingest", tenantId: c.get("principal")!.tenantId, sourceId: source.id },
    `re-sync source ${source.id} to retry`,
  );
  return c.json(source, 202);
};

export const get = adminRoute("knowledge:read", {
  method: "get",
  path: "/{knowledgeBaseId}/sources/{sourceId}",
  tags,
  operationId: "getKnowledgeSource",
  summary: "Get a source and its status",
  request: { params: sourceParam },
  responses: { 200: jsonResponse(knowledgeSourceSchema, "The source") },
});
export const getHandler: RouteHandler<typeof get, AppEnv> = async (c) =>
  c.json(await runVerb(c, getKnowledgeSource, c.req.valid("param")), 200);

export const resync = adminRoute("knowledge:write", {
  method: "post",
  path: "/{knowledgeBaseId}/sources/{sourceId}/resync",
  tags,
  operationId: "resyncKnowledgeSource",
  summary: "Ingest a source again (URL re-fetched); unchanged content does no work",
  request: { params: sourceParam, body: { required: false, content: { "application/json": { schema: z.object({}).strict() } } } },
  responses: { 202: jsonResponse(knowledgeSourceSchema, "Accepted: the source") },
});
export const resyncHandler: RouteHandler<typeof resync, AppEnv> = async (c) => {
  const jobs = knowledgeJobs(c);
  const source = await runVerb(c, resyncKnowledgeSource, c.req.valid("param"));
  await enqueueOr503(c, jobs, { kind: "knowledge.ingest", tenantId: c.get("principal")!.tenantId, sourceId: source.id }, "try again");
  return c.json(source, 202);
};

export const remove = adminRoute("knowledge:delete", {
  method: "delete",
  path: "/{knowledgeBaseId}/sources/{sourceId}",
  tags,
  operationId: "deleteKnowledgeSource",
  summary: "Delete a source and its chunks",
  request: { params: sourceParam },
  responses: { 204: { description: "Deleted: no longer retrieved; its chunks are removed by a queued job" } },
});
export const removeHandler: RouteHandler<typeof remove, AppEnv> = async (c) => {
  const jobs = knowledgeJobs(c);
  const deleted = await runVerb(c, deleteKnowledgeSource, c.req.valid("param"));
  await enqueueOr503(
    c,
    jobs,
    {
      kind: "knowledge.delete_source",
      tenantId: c.get("principal")!.tenantId,
      knowledgeBaseId: deleted.knowledgeBaseId,
      sourceId: deleted.id,
    },
    "the source is no longer retrieved but its chunks stay stored",
  );
  return c.body(null, 204);
};
