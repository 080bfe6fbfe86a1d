/**
 * The state one kit instance's rooms share, and nothing else: the options in force, the session, the code exchange's
 * gates, the limiters, the requests waiting for a slot, the loading toast and the event listeners. `LoginKit` makes one
 * and hands it down to the flight (`flight.ts`), the step-ups (`step-up.ts`) and the request gate (`request-gate.ts`);
 * it holds no logic of theirs and no reference to `LoginKit`, so every call from a room goes down, never back up.
 */
import { CodeLogin } from './code-login';
import { LoginError, PACKAGE_NAME } from './errors';
import { Limiter } from './limiter';
import { LoadingToast } from './loading';
import type { ResolvedOptions } from './options';
import type { Logger } from './runtime';
import type { Session } from './session';
import type { CallKind, RequestControl } from './transport';
import type { LoginEvent, LoginEventListener } from './types';

export class KitContext {
  /** The options in force; null before the first `config()`. Replaced whole by each successful `config()`. */
  options: ResolvedOptions | null = null;
  /** The session in force; set with `options` by `config()`. */
  session!: Session;
  /** The code exchange (its ticket and gates outlive a `config()` call). */
  readonly codeLogin = new CodeLogin();
  /** One limiter per kind (WeChat runs at most 10 of each at once), kept across `config()` calls. */
  readonly limiters: Record<CallKind, Limiter> = { request: new Limiter(10), uploadFile: new Limiter(10), downloadFile: new Limiter(10) };
  /** Requests with credentials between their call and their dispatch: `logout()` rejects them at once. */
  readonly queued = new Set<RequestControl>();
  /** The loading toast of the calls that asked for one; it steps aside while the login UI shows. */
  readonly loading = new LoadingToast(() => this.options?.wx);
  private readonly listeners: LoginEventListener[] = [];
  private reportedNotConfigured = false;

  /** @param logger where a call before `config()` is reported (once), before any options exist. */
  constructor(private readonly logger: Logger = console) {}

  /**
   * The options in force.
   * @throws LoginError `NOT_CONFIGURED` before `config()` (reported once through the logger).
   */
  opts(): ResolvedOptions {
    if (this.options) return this.options;
    const error = new LoginError('NOT_CONFIGURED', 'call Login.config({source, baseURL}) before using the kit, e.g. in App.onLaunch');
    if (!this.reportedNotConfigured) {
      this.reportedNotConfigured = true;
      this.logger.error(error.message);
    }
    throw error;
  }

  /** Fires `event` to every listener, once; a listener that throws is logged and the others still run. */
  emit(event: LoginEvent): void {
    for (const listener of this.listeners.slice()) {
      try {
        listener(event);
      } catch (error) {
        (this.options?.logger ?? this.logger).error(`${PACKAGE_NAME}: an onStateChange listener threw on "${event.type}"`, error);
      }
    }
  }

  /** Adds a listener; returns the function that removes it (safe to call more than once). */
  listen(listener: LoginEventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }
}
