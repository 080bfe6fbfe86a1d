/**
 * A FIFO concurrency limiter: at most `max` tasks run at once, the rest wait in arrival order.
 * The kit sends every `wx.request` through one, because WeChat runs at most 10 concurrently (network doc).
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** @param max tasks allowed to run at once (an integer >= 1). */
  constructor(readonly max: number) {}

  /** How many tasks run now. */
  get active(): number {
    return this.running;
  }

  /** Runs `task` when a slot is free; settles as the task does. A task that throws synchronously rejects. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        let promise: Promise<T>;
        try {
          promise = task();
        } catch (error) {
          promise = Promise.reject(error);
        }
        promise.then(resolve, reject).then(() => this.release());
      };
      if (this.running < this.max) start();
      else this.waiting.push(start);
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next();
  }
}
