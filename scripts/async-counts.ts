/**
 * What a piece of async work creates, counted rather than timed: the promises and timers `run` makes (itself and
 * everything it starts) until it settles, seen through `async_hooks`. Used by the benchmark (bench-client.ts) and by
 * the fast-path test, which holds the kit to its counts.
 */
import { createHook } from 'async_hooks';

/** Promises and timers (`Timeout`) created while `run` runs. */
export async function created(run: () => Promise<unknown>): Promise<{ promises: number; timers: number }> {
  const counts = { promises: 0, timers: 0 };
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') counts.promises++;
      else if (type === 'Timeout') counts.timers++;
    },
  });
  hook.enable();
  await run();
  hook.disable();
  // The `await` of this function adds one promise of its own: count `run`'s only.
  return { promises: counts.promises - 1, timers: counts.timers };
}
