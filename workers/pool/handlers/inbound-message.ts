import type { InboundChatMessage } from "../../../core/queue/inbound-message";
import { answerMessage } from "../turn/answer";
import type { MessageHandler } from "./types";

/** `inbound.message`: a person wrote; the agent answers (workers/pool/turn/). */
export const handleInboundMessage: MessageHandler<InboundChatMessage> = (deps, message, delivery) => answerMessage(deps, message, delivery);
