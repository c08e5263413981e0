/** Domain verbs for agents and conversation handoff; each takes `({ ctx, input })`. */
export * from "./agents";
export * from "./context";
export * from "./conversations";
export { createAgentInput, updateAgentChanges, type CreateAgentInput, type UpdateAgentChanges } from "./input";
export * from "./test-runs";
