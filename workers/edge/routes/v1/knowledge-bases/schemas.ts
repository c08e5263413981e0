import { z } from "@hono/zod-openapi";
import { createKnowledgeBaseInput, knowledgeBaseDto, updateKnowledgeBaseInput } from "../../../../../core/knowledge/admin";
import { createSourceInput, knowledgeSourceDto } from "../../../../../core/knowledge/sources-admin";
import type { Context } from "hono";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import type { KnowledgeJobQueue } from "../../../../../core/knowledge/jobs";

/** The core schemas, named for the OpenAPI document. */
export const knowledgeBaseSchema = knowledgeBaseDto.openapi("KnowledgeBase");
export const createKnowledgeBaseSchema = createKnowledgeBaseInput.openapi("CreateKnowledgeBase");
export const updateKnowledgeBaseSchema = updateKnowledgeBaseInput.openapi("UpdateKnowledgeBase");
export const knowledgeSourceSchema = knowledgeSourceDto.openapi("KnowledgeSource");
export const createKnowledgeSourceSchema = createSourceInput.openapi("CreateKnowledgeSource");

const uuid = (name: string) => z.uuid().openapi({ param: { name, in: "path" }, example: "00000000-0000-4000-8000-000000000000" });
export const baseParam = z.object({ knowledgeBaseId: uuid("knowledgeBaseId") });
export const sourceParam = z.object({ knowledgeBaseId: uuid("knowledgeBaseId"), sourceId: uuid("sourceId") });

/** The jobs queue, or 503 before anything is written when it is not configured. */
export function knowledgeJobs(c: Context<AppEnv>): KnowledgeJobQueue {
  const jobs = c.get("services").knowledgeJobs;
  if (!jobs) throw new ApiError(503, "QUEUE_UNAVAILABLE", "Knowledge ingestion is not configured on this server.");
  return jobs;
}

/** Hands a job to the pool after the change committed; a queue failure answers 503 with what to do next. */
export async function enqueueOr503(
  c: Context<AppEnv>,
  jobs: KnowledgeJobQueue,
  job: Parameters<KnowledgeJobQueue["enqueue"]>[0],
  retry: string,
): Promise<void> {
  try {
    await jobs.enqueue(job);
  } catch (error) {
    c.get("logger").log("error", "knowledge.enqueue_failed", { kind: job.kind, error: (error as Error).name });
    throw new ApiError(503, "QUEUE_UNAVAILABLE", `The change was saved but the job could not be queued; ${retry}.`);
  }
}
