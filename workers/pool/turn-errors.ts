/** How a turn ends when it does not end with an outcome (workers/pool/turn.ts); the consumer reads `code`. */

/** The pool is stopping and this turn had not started sending: its message goes back to the queue. */
export class TurnReleasedError extends Error {
  readonly code = "TURN_RELEASED";
}

/** A message that can never be processed (unknown channel, foreign tenant): it stays for the dead-letter queue. */
export class UnprocessableMessageError extends Error {
  readonly code = "UNPROCESSABLE_MESSAGE";
}

/**
 * Every model candidate failed and this is not the message's last delivery: the message goes back
 * to the queue and the turn runs again later. Not a transient failure for the consumer (the
 * providers, not our dependencies, are down), so it waits for the queue's next receive.
 */
export class AllModelsFailedError extends Error {
  readonly code = "ALL_MODELS_FAILED";
  constructor(readonly path: string[]) {
    super(`every model candidate failed for this turn (${path.join(", ")})`);
  }
}
