import { OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import { eraseContact, exportContact } from "../../../../../core/contacts/contacts";
import { FORGET_BATCH } from "../../../../../core/knowledge/jobs";
import type { AppEnv } from "../../../context";
import { enqueueOr503, knowledgeJobs } from "../knowledge-bases/schemas";
import { adminRoute, jsonResponse, validationHook } from "../openapi";
import { runVerb } from "../run";

const tags = ["Contacts"];
const params = z.object({
  identity: z
    .string()
    .min(1)
    .max(256)
    .openapi({
      param: { name: "identity", in: "path" },
      example: "+12025550143",
      description: "The end user's id on the channels: a phone number, a Telegram user id, an email address, a web chat visitor id",
    }),
});
const query = z.object({ channelId: z.uuid().optional().openapi({ description: "Only this channel's conversations" }) });

const exportMessage = z.object({
  id: z.uuid(),
  direction: z.string(),
  content: z.string(),
  status: z.string(),
  deliveryStatus: z.string().nullable(),
  createdAt: z.string(),
});
const contactExport = z
  .object({
    identity: z.string(),
    exportedAt: z.string(),
    conversations: z.array(
      z.object({
        id: z.uuid(),
        channel: z.object({ id: z.uuid(), kind: z.string(), name: z.string() }),
        status: z.string(),
        createdAt: z.string(),
        lastMessageAt: z.string(),
        messages: z.array(exportMessage),
      }),
    ),
    messageCount: z.number().int(),
    truncated: z.boolean().openapi({ description: "More messages than one export carries (20,000): export per channel" }),
  })
  .openapi("ContactExport");

const exportRoute = adminRoute("contacts:read", {
  method: "get",
  path: "/{identity}/export",
  tags,
  operationId: "exportContact",
  summary: "Everything held about one end user (a data access request)",
  description:
    "Every conversation the end user wrote in, with all its messages, oldest first. 404 when there is none. Audited under a hash of the identity.",
  request: { params, query },
  responses: { 200: jsonResponse(contactExport, "The end user's conversations and messages") },
});

const erasure = z
  .object({
    conversationsDeleted: z.number().int(),
    messagesDeleted: z.number().int(),
    memoryForgetQueued: z.boolean().openapi({ description: "The agent's long-term memory of them is being deleted by a queued job" }),
  })
  .openapi("ContactErasure");

const eraseRoute = adminRoute("contacts:delete", {
  method: "delete",
  path: "/{identity}",
  tags,
  operationId: "eraseContact",
  summary: "Forget one end user (a right-to-erasure request)",
  description:
    "Deletes the conversations only they wrote in, their messages and the replies to them in shared ones (whose summaries are dropped), " +
    "their end-user analytics rows, and queues the deletion of the agent's memory of them; the agent no longer recalls them. " +
    "Idempotent: repeating it answers zeros. Audited under a hash of the identity.",
  request: { params, query },
  responses: { 200: jsonResponse(erasure, "What was deleted") },
});

const exportHandler: RouteHandler<typeof exportRoute, AppEnv> = async (c) =>
  c.json(await runVerb(c, exportContact, { ...c.req.valid("param"), ...c.req.valid("query") }), 200);

const eraseHandler: RouteHandler<typeof eraseRoute, AppEnv> = async (c) => {
  const jobs = knowledgeJobs(c);
  const erased = await runVerb(c, eraseContact, { ...c.req.valid("param"), ...c.req.valid("query") });
  const { endUsers, conversationIds } = erased.forget;
  const tenantId = c.get("principal")!.tenantId;
  for (let at = 0; at < Math.max(endUsers.length, conversationIds.length); at += FORGET_BATCH) {
    await enqueueOr503(
      c,
      jobs,
      {
        kind: "knowledge.forget",
        tenantId,
        endUsers: endUsers.slice(at, at + FORGET_BATCH),
        conversationIds: conversationIds.slice(at, at + FORGET_BATCH),
      },
      "repeat the erasure to delete the agent's memory of them",
    );
  }
  return c.json(
    {
      conversationsDeleted: erased.conversationsDeleted,
      messagesDeleted: erased.messagesDeleted,
      memoryForgetQueued: endUsers.length + conversationIds.length > 0,
    },
    200,
  );
};

/** `/v1/contacts`: the end users' own data, exported or erased (module `contacts`). */
export const contactsApi = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(exportRoute, exportHandler)
  .openapi(eraseRoute, eraseHandler);
