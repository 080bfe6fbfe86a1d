/**
 * A concurrency limiter with two lanes: at most `max` tasks run at once; waiting tasks start in arrival order, the
 * priority lane first (the kit's own auth calls never wait behind the app's queued requests). The kit sends every
 * `wx.request` and `wx.uploadFile` through one, because WeChat runs at most 10 concurrently (network doc).
 * Queues are O(1) per task (a head index, compacted now and then), and a waiting task can be cancelled.
 */

/** A FIFO queue with O(1) push and shift: a head index into an array, compacted when half of it is consumed. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as unknown as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Job {
  start(): void;
  /** Set when the job was cancelled while waiting; the queue skips it. */
  cancelled: boolean;
}

/** A scheduled task: its outcome, and `cancel` for while it still waits. */
export interface Scheduled<T> {
  /** Settles as the task does, or rejects with the error given to `cancel`. */
  promise: Promise<T>;
  /** Rejects `promise` with `error` and drops the task if it has not started; returns false once it has started. */
  cancel(error: unknown): boolean;
}

export class Limiter {
  private running = 0;
  /** Jobs in either lane (cancelled ones included until they reach the head). */
  private queued = 0;
  private readonly lanes = { priority: new Queue<Job>(), normal: new Queue<Job>() };

  /** @param max tasks allowed to run at once (an integer >= 1); may be changed later. */
  constructor(public max: number) {}

  /**
   * Runs `task` when a slot is free (the priority lane first), with a handle to cancel it while it waits. The slot is
   * given back when the task settles; a task that throws synchronously rejects.
   */
  schedule<T>(task: () => Promise<T>, priority = false): Scheduled<T> {
    const slot = this.acquire(priority);
    const promise = slot.promise.then(() => {
      let result: Promise<T>;
      try {
        result = task();
      } catch (error) {
        result = Promise.reject(error);
      }
      const release = () => this.release();
      result.then(release, release);
      return result;
    });
    return { promise, cancel: slot.cancel };
  }

  /**
   * A slot at once, without waiting, a promise or a closure: true when taken, false when every slot is taken or tasks
   * wait (they come first). Give it back with `release()`, once.
   */
  tryAcquire(): boolean {
    if (this.running >= this.max || this.queued) return false;
    this.running++;
    return true;
  }

  /**
   * Waits for a slot and holds it: `promise` resolves once the slot is held — for work whose end the limiter does not
   * see, such as a request sent by the app's own request layer. Give it back with `release()`, once.
   */
  acquire(priority = false): Scheduled<void> {
    let started = false;
    let job!: Job;
    let rejectJob!: (error: unknown) => void;
    const promise = new Promise<void>((resolve, reject) => {
      rejectJob = reject;
      job = {
        cancelled: false,
        start: () => {
          started = true;
          this.running++;
          resolve();
        },
      };
    });
    if (this.running < this.max) job.start();
    else {
      (priority ? this.lanes.priority : this.lanes.normal).push(job);
      this.queued++;
    }
    return {
      promise,
      cancel: (error) => {
        if (started || job.cancelled) return false;
        job.cancelled = true;
        rejectJob(error);
        return true;
      },
    };
  }

  /** Gives back a slot taken by `tryAcquire` or `acquire`; the next waiting task starts. */
  release(): void {
    this.running--;
    while (this.queued && this.running < this.max) {
      const next = this.lanes.priority.shift() ?? this.lanes.normal.shift();
      if (!next) return;
      this.queued--;
      if (!next.cancelled) next.start();
    }
  }
}
