import type { Auth0Verifier } from "../../core/access/auth0";
import type { KnowledgeJobQueue } from "../../core/knowledge/jobs";
import type { InboundQueue } from "../../core/queue/sqs";
import type { Logger } from "../../core/observability/log";
import type { EdgeConfig, Env } from "./env";
import type { AuthVariables } from "./middleware/authenticate";
import type { DatabaseVariables } from "./middleware/database";

/** Per-request services, built once per isolate and put on the context. */
export interface EdgeServices {
  config: EdgeConfig;
  inboundQueue: InboundQueue;
  /** Knowledge ingestion jobs; absent when KNOWLEDGE_JOBS_QUEUE_URL is not configured. */
  knowledgeJobs?: KnowledgeJobQueue;
  logger: Logger;
  /** Auth0 access-token verification; absent when AUTH0_ISSUER is not configured. */
  auth0?: Auth0Verifier;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    services: EdgeServices;
    logger: Logger;
  } & Partial<DatabaseVariables & AuthVariables>;
}
