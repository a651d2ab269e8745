import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * The application failure an activity ended with (the executor's refusal and its details): the
 * cause of an ActivityFailure for a regular activity; a local activity's failure comes as is.
 */
export function failureOf(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ActivityFailure) return err.cause instanceof ApplicationFailure ? err.cause : undefined;
  return err instanceof ApplicationFailure ? err : undefined;
}
