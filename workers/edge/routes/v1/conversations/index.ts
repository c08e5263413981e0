import { conversationLogMessage } from "../../../../../core/queue/builders";
import { describeError } from "../../../../../core/observability/log";
import { OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import { handOffConversation, releaseConversation } from "../../../../../core/agents";
import type { AppEnv } from "../../../context";
import { adminRoute, jsonResponse, uuidParam, validationHook } from "../openapi";
import { runVerb } from "../run";
import * as list from "./list";
import * as messages from "./messages";
import * as send from "./send";
import * as testCase from "./test-case";

const handoffSchema = z
  .object({ id: z.uuid(), status: z.enum(["open", "handed_off", "closed"]), handedOffAt: z.string().nullable() })
  .openapi("ConversationHandoff");

const toDto = (view: { id: string; status: "open" | "handed_off" | "closed"; handedOffAt: Date | null }) => ({
  ...view,
  handedOffAt: view.handedOffAt?.toISOString() ?? null,
});

const handOff = adminRoute("agents:write", {
  method: "post",
  path: "/{conversationId}/handoff",
  tags: ["Conversations"],
  operationId: "handOffConversation",
  summary: "Hand a conversation to a person",
  description: "The agent stops answering it until it is released (the `/human` command does the same from the chat).",
  request: { params: uuidParam("conversationId") },
  responses: { 200: jsonResponse(handoffSchema, "The conversation, handed off") },
});

const release = adminRoute("agents:write", {
  method: "post",
  path: "/{conversationId}/release",
  tags: ["Conversations"],
  operationId: "releaseConversation",
  summary: "Give a handed-off conversation back to the agent",
  request: { params: uuidParam("conversationId") },
  responses: { 200: jsonResponse(handoffSchema, "The conversation, open again") },
});

const handOffHandler: RouteHandler<typeof handOff, AppEnv> = async (c) => {
  const handed = await runVerb(c, handOffConversation, c.req.valid("param"));
  // The transcript goes to the CRMs that log conversations (workers/pool/handlers/conversation-log.ts).
  // Best effort: the handoff itself has happened; a queue outage only costs the CRM note, and says so.
  await c
    .get("services")
    .inboundQueue.enqueue(
      conversationLogMessage({
        tenantId: c.get("principal")!.tenantId,
        conversationId: handed.id,
        occurrence: (handed.handedOffAt ?? new Date()).toISOString(),
        receivedAt: new Date(),
        requestId: c.get("requestId"),
      }),
    )
    .catch((error: unknown) => c.get("logger").log("error", "conversation.log_enqueue_failed", describeError(error)));
  return c.json(toDto(handed), 200);
};
const releaseHandler: RouteHandler<typeof release, AppEnv> = async (c) =>
  c.json(toDto(await runVerb(c, releaseConversation, c.req.valid("param"))), 200);

/** `/v1/conversations`: the inbox, messages with citations, human handoff (module `agents`). */
export const conversationsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(list.route, list.handler)
  .openapi(handOff, handOffHandler)
  .openapi(release, releaseHandler)
  .openapi(messages.route, messages.handler)
  .openapi(send.route, send.handler)
  .openapi(testCase.route, testCase.handler);
