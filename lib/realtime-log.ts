/**
 * WeChat's real-time log (`wx.getRealtimeLogManager()`, base library >= 2.7.1): the kit's diagnostics and its events,
 * readable in the mini-program admin console ("实时日志"), so field failures can be read where they happen.
 */
import type { Logger } from './runtime';
import type { LoginEvent, LoginEventListener } from './types';

/** The part of WeChat's `RealtimeLogManager` used here. */
export interface RealtimeLogManagerLike {
  /** Writes an info line. */
  info(...args: unknown[]): void;
  /** Writes a warning line. */
  warn(...args: unknown[]): void;
  /** Writes an error line. */
  error(...args: unknown[]): void;
  /** Optional: a filter keyword for the admin console. */
  addFilterMsg?(message: string): void;
}

/** What `realtimeLog` gives: pass `logger` to `config`, and `onEvent` to `onStateChange`. */
export interface RealtimeLog {
  logger: Logger;
  onEvent: LoginEventListener;
}

/** What an event says, without tokens: the funnel, logins with their timings, renewals and failures. */
function summary(event: LoginEvent): Record<string, unknown> {
  switch (event.type) {
    case 'login':
      return { type: event.type, isNewUser: event.isNewUser, timings: event.timings, userId: event.state.user && event.state.user.id };
    case 'loginFailed':
      return { type: event.type, code: event.error.code, errMsg: event.error.errMsg, statusCode: event.error.statusCode };
    case 'refreshEnd':
      return { type: event.type, ok: !event.error, code: event.error && event.error.code };
    case 'stepUp':
      return { type: event.type, kind: event.kind };
    default:
      return { ...event };
  }
}

/**
 * Routes the kit's warnings and errors, and one line per event, to WeChat's real-time log. Never logs a token.
 * ```js
 * const log = realtimeLog(wx.getRealtimeLogManager());
 * Login.config({ ..., logger: log.logger });
 * Login.onStateChange(log.onEvent);
 * ```
 */
export function realtimeLog(manager: RealtimeLogManagerLike): RealtimeLog {
  if (manager.addFilterMsg) manager.addFilterMsg('miniprogram-login-kit');
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : a));
  return {
    logger: { warn: (...args) => manager.warn(...text(args)), error: (...args) => manager.error(...text(args)) },
    onEvent: (event) => (event.type === 'loginFailed' ? manager.warn : manager.info).call(manager, 'miniprogram-login-kit', summary(event)),
  };
}
