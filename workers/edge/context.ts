import type { InboundQueue } from "../../core/queue/sqs";
import type { Logger } from "../../core/observability/log";
import type { EdgeConfig, Env } from "./env";

/** Per-request services, built once per isolate and put on the context. */
export interface EdgeServices {
  config: EdgeConfig;
  inboundQueue: InboundQueue;
  logger: Logger;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: EdgeServices;
    logger: Logger;
  };
}
