/** The harness's one bounded wait: polls a condition and, on time-out, says what it waited for and what it saw. */

/**
 * Polls `probe` every 10 ms until it returns a truthy value, and resolves with that value.
 * @param what what is awaited, for the error (e.g. `the AuthModal`).
 * @param timeoutMs the bound in ms.
 * @param seen describes the current state for the error (e.g. the top page and its text).
 * @throws Error `miniprogram-login-kit/testing: timed out after <timeoutMs> ms waiting for <what> (<seen>)`; or the
 *   error `probe` threw.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs: number,
  seen: () => string = () => '',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() >= end) {
      const state = seen();
      throw new Error(`miniprogram-login-kit/testing: timed out after ${timeoutMs} ms waiting for ${what}${state ? ` (${state})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
