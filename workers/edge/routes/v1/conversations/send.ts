import type { RouteHandler } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { failOperatorMessage, operatorMessageDto, recordOperatorMessage } from "../../../../../core/agents/inbox";
import { describeError } from "../../../../../core/observability/log";
import type { AppEnv } from "../../../context";
import { ApiError } from "../../../errors";
import { adminRoute, jsonBody, jsonResponse, uuidParam } from "../openapi";
import { runVerb } from "../run";
import { operatorMessage } from "../../../../../core/queue/builders";

const body = z.object({ text: z.string().min(1).max(4000) }).openapi("OperatorMessageInput");

export const route = adminRoute("agents:write", {
  method: "post",
  path: "/{conversationId}/messages",
  tags: ["Conversations"],
  operationId: "sendConversationMessage",
  summary: "Send a message to the conversation as a person",
  description:
    "For handed-off conversations: the text goes to the customer through the channel, like a reply (WhatsApp's 24-hour window applies). Answers 202 with the message `pending`; its status turns `sent` or `failed` in the message list. 409 `CHANNEL_PAUSED` on a paused channel.",
  request: { params: uuidParam("conversationId"), body: jsonBody(body) },
  responses: { 202: jsonResponse(operatorMessageDto.openapi("OperatorMessage"), "Recorded and queued for sending") },
});

export const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
  const { conversationId } = c.req.valid("param");
  const recorded = await runVerb(c, recordOperatorMessage, { conversationId, text: c.req.valid("json").text });
  const principal = c.get("principal")!;
  try {
    await c.get("services").inboundQueue.enqueue(
      operatorMessage(
        {
          tenantId: principal.tenantId,
          channelId: recorded.conversation.channelId,
          channelKind: recorded.conversation.channelKind,
          conversationKey: recorded.conversation.externalKey,
          providerMessageId: `operator:${recorded.message.id}`,
          receivedAt: new Date(),
          requestId: c.get("requestId"),
        },
        { messageId: recorded.message.id },
      ),
    );
  } catch (error) {
    c.get("logger").log("error", "conversation.operator_enqueue_failed", describeError(error));
    await runVerb(c, failOperatorMessage, { messageId: recorded.message.id, reason: "could not be queued for sending" });
    throw new ApiError(503, "QUEUE_UNAVAILABLE", "The message could not be queued and was not sent; try again.");
  }
  return c.json(recorded.message, 202);
};
