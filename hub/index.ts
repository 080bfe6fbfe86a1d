/**
 * `userAuthHub`: the pub-sub through which every login UI (AuthModal, the login page, a custom UI) hands the
 * user's answer back to the login that is waiting for it. It lives outside `lib/` so the core never depends on it;
 * the page UI (`hub/page-ui`) and the components use it.
 */
import { LoginError, PACKAGE_NAME } from '../lib/errors';
import type { AuthResult, UserAuthRequest } from '../lib/types';
import { shared } from './shared';

/** Receives a value published on a hub. Errors it throws are caught and logged. */
export type HubListener<T> = (value: T) => void;

/**
 * A typed one-shot pub-sub: `notify` delivers to every current subscriber once, then forgets them.
 * Notifying with nobody subscribed is harmless (returns 0).
 */
export class Hub<T> {
  private listeners: Array<HubListener<T>> = [];

  /** Adds `listener` for the next `notify`. Returns the unsubscribe function (safe to call more than once). */
  subscribe(listener: HubListener<T>): () => void {
    if (typeof listener !== 'function') throw new LoginError('INVALID_OPTIONS', 'hub.subscribe(listener) expects a function');
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Delivers `value` to every current subscriber once and clears them. Returns how many received it. */
  notify(value: T): number {
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        console.error(`${PACKAGE_NAME}: a userAuthHub listener threw`, error);
      }
    }
    return listeners.length;
  }

  /** How many subscribers wait for the next `notify`. */
  get size(): number {
    return this.listeners.length;
  }
}

/** A login waiting on `userAuthHub` for the user's answer (see `UserAuthHub.awaitResult`). */
export interface PendingAuthResult {
  /** Resolves with the next `AuthResult` published on the hub. */
  result: Promise<AuthResult>;
  /** Unsubscribes and clears the hub's `request` (if it is still this one); `result` then stays pending. */
  withdraw(): void;
}

/** The hub of login-UI results, plus the request the login page should show (set before navigating to it). */
export class UserAuthHub extends Hub<AuthResult> {
  /** What the waiting login asks for (merged tips); null when no login waits. Read by the login page on attach. */
  request: UserAuthRequest | null = null;

  /** Publishes the user's answer to the waiting login and clears `request`. */
  override notify(result: AuthResult): number {
    this.request = null;
    return super.notify(result);
  }

  /**
   * The hand-off to a login page in one call: sets `request` (what the page shows) and subscribes for the answer.
   * `result` resolves with the next published `AuthResult`; `withdraw()` undoes both (e.g. when the page could not be
   * opened) and leaves `result` pending — the caller settles its own promise then.
   */
  awaitResult(request: UserAuthRequest): PendingAuthResult {
    let unsubscribe!: () => void;
    const result = new Promise<AuthResult>((resolve) => (unsubscribe = this.subscribe(resolve)));
    this.request = request;
    return {
      result,
      withdraw: () => {
        unsubscribe();
        if (this.request === request) this.request = null;
      },
    };
  }
}

/**
 * The one hub every UI of the kit publishes on. Shared by every copy of the kit in the app (see `hub/shared`), so a
 * login page from a second, bundled copy still answers the login that waits.
 */
export const userAuthHub: UserAuthHub = shared('userAuthHub', () => new UserAuthHub());
