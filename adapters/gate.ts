/** What every adapter needs of a kit: the two primitives of the session gate (`LoginKit.authorize`, `handleExpired`). */
import { LoginError } from '../lib/errors';
import type { LoginKit } from '../lib/login-kit';
import type { AuthorizeOptions } from '../lib/request-gate';

/** A kit instance as the adapters use it: `Login`, or one from `createLogin()` / `new LoginKit()`. */
export type LoginGate = Pick<LoginKit, 'authorize' | 'handleExpired'>;

/** A `LoginError` (or any error) with WeChat's `errMsg`, as the `fail` callback of a `wx`-style API expects it. */
export function asFailResult(api: string, error: unknown): unknown {
  if (error && typeof error === 'object' && !('errMsg' in error)) {
    (error as { errMsg?: string }).errMsg = `${api}:fail ${(error as Error).message}`;
  }
  return error;
}

/** A request of the app's layer, with an optional `loginOpts` of its own (`{mode, tips, require, reTry}`). */
export type WithLoginOpts<T> = T & { loginOpts?: Omit<AuthorizeOptions, 'kind'> };

/**
 * Splits a request into what to send and how it may log in: the request's own `loginOpts` (which never reaches the
 * network) over the adapter's `defaults`.
 */
export function splitLoginOpts<T extends object>(request: WithLoginOpts<T>, defaults: AuthorizeOptions): [T, AuthorizeOptions] {
  if (!('loginOpts' in request)) return [request, defaults];
  const { loginOpts, ...rest } = request;
  return [rest as T, { ...defaults, ...loginOpts }];
}

/** The part of a WeChat request task (or a framework's promise carrying its methods) an adapter drives. */
export interface TaskLike {
  abort?: () => unknown;
  [method: string]: unknown;
}

/** The task events a caller may listen to before the request exists (WeChat's `RequestTask` methods). */
const TASK_METHODS = [
  'onHeadersReceived',
  'offHeadersReceived',
  'onChunkReceived',
  'offChunkReceived',
  'onProgressUpdate',
  'offProgressUpdate',
];

/**
 * A request task the caller holds from the moment it calls, before the kit has authorized the request and long before
 * WeChat's task exists: `abort()` at any time aborts — while the request waits for a login or a slot, nothing is sent;
 * once sent, the task of the attempt in flight (the first, or a replay) is aborted — and listeners registered early
 * reach every task it drives. `onAbort` learns of the abort (the adapter rejects the call with `ABORTED`).
 */
export class PendingTask {
  /** The `ABORTED` error once `abort()` was called (its `errMsg` as WeChat words an abort). */
  aborted: LoginError | null = null;
  private task: TaskLike | null = null;
  private readonly calls: Array<[string, unknown[]]> = [];

  constructor(
    private readonly api: string,
    private readonly onAbort: (error: LoginError) => void,
  ) {}

  /** Aborts (see the class doc); a second call does nothing. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = new LoginError('ABORTED', 'the caller aborted the request', { errMsg: `${this.api}:fail abort` });
    (this.aborted as { errMsg?: string }).errMsg = `${this.api}:fail abort`;
    if (this.task && typeof this.task.abort === 'function') this.task.abort();
    this.onAbort(this.aborted);
  }

  /** The attempt now in flight: it gets the listeners registered so far, and is aborted at once if the caller already did. */
  attach(task: TaskLike | null | undefined): void {
    this.task = task ?? null;
    if (!task) return;
    for (const [method, args] of this.calls)
      if (typeof task[method] === 'function') (task[method] as (...a: unknown[]) => unknown)(...args);
    if (this.aborted && typeof task.abort === 'function') task.abort();
  }

  /** Puts `abort` and the task-event methods on `target` (the promise the caller gets); returns it. */
  equip<T extends object>(target: T): T & TaskLike {
    const equipped = target as unknown as Record<string, unknown>;
    equipped.abort = () => this.abort();
    for (const method of TASK_METHODS) {
      equipped[method] = (...args: unknown[]) => {
        this.calls.push([method, args]);
        const task = this.task;
        if (task && typeof task[method] === 'function') (task[method] as (...a: unknown[]) => unknown)(...args);
      };
    }
    return target as T & TaskLike;
  }
}
