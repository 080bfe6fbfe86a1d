/**
 * Fixed-window rate limiting in memory (one process; the Postgres store keeps shared counters instead), keyed by client
 * IP before the code exchange and by openid after it (an openid is only known once WeChat answered, so a
 * request-level plugin cannot key on it). Old windows are pruned at most once per window, so a flood of new keys
 * costs O(1) per hit.
 */
export class FixedWindowLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  private lastPrune = 0;

  /**
   * @param limit hits allowed per window and key
   * @param windowMs window length in ms
   */
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts a hit for `key` at `now` (epoch ms); returns 0 when allowed, else the seconds until the key's window resets. */
  hit(key: string, now: number): number {
    if (now - this.lastPrune >= this.windowMs) this.prune(now);
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    return window.count > this.limit ? Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)) : 0;
  }

  private prune(now: number): void {
    this.lastPrune = now;
    const kept = new Map<string, { start: number; count: number }>();
    for (const [key, window] of this.windows) if (now - window.start < this.windowMs) kept.set(key, window);
    this.windows = kept;
  }
}
