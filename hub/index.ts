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
  /** Resolves with the answer to this request only (`answer(request, …)`, or `notify` while it is `request`). */
  result: Promise<AuthResult>;
  /**
   * Takes the request off the hub: nothing answers it any more (a login page still showing it answers nothing), and
   * `result` stays pending — the caller settles its own promise then (it could not open the page, or the question
   * moved to another page).
   */
  withdraw(): void;
}

/** One request waiting on the hub, and how to resolve it. */
interface Waiting {
  request: UserAuthRequest;
  resolve: (result: AuthResult) => void;
}

/**
 * The hub of login-UI answers. Several logins may wait on it at once (two kits, a login and a phone step-up): each
 * waits for the answer to its own request (`awaitResult`), in the order they asked, and an answer resolves exactly
 * one of them — never a phone request with a profile answer. Subscribers (`subscribe`) see every answer published,
 * whichever request it answers (the AuthModal's answers included), once.
 */
export class UserAuthHub extends Hub<AuthResult> {
  private readonly waiting: Waiting[] = [];
  /** A request set by hand (`hub.request = …`), for custom UIs written before `awaitResult`. */
  private assigned: UserAuthRequest | null = null;

  /**
   * The request the login page should show: the oldest one still waiting for an answer, else one set by hand; null
   * when no login waits. The login page reads it when it attaches, and again after each answer (it then shows the
   * next one instead of going back). Setting it by hand (a custom UI that subscribes itself) still works: the login
   * page shows it and its answer reaches the subscribers; prefer `awaitResult`, whose answer reaches only its request.
   */
  get request(): UserAuthRequest | null {
    return this.waiting.length ? this.waiting[0].request : this.assigned;
  }

  /** Sets the request a login page shows when none waits through `awaitResult` (custom UIs written before it). */
  set request(request: UserAuthRequest | null) {
    this.assigned = request;
  }

  /** The requests waiting for an answer, oldest first (a copy). */
  get pending(): UserAuthRequest[] {
    return this.waiting.map((entry) => entry.request);
  }

  /** Whether `request` still waits for an answer on the hub (`awaitResult`, or set by hand): not answered, not withdrawn. */
  isWaiting(request: UserAuthRequest | null | undefined): boolean {
    return !!request && (request === this.assigned || this.waiting.some((entry) => entry.request === request));
  }

  /**
   * Answers `request` with `result`: resolves that request's `awaitResult` (if it still waits; a withdrawn or already
   * answered request gets nothing) and delivers `result` to every subscriber once. `request` null answers no request
   * (a UI that showed none, e.g. the login page opened directly) and only tells the subscribers.
   * Returns whether a waiting request was resolved.
   */
  answer(request: UserAuthRequest | null, result: AuthResult): boolean {
    const index = request ? this.waiting.findIndex((entry) => entry.request === request) : -1;
    const entry = index >= 0 ? this.waiting.splice(index, 1)[0] : undefined;
    if (request && this.assigned === request) this.assigned = null;
    this.publish(result);
    if (entry) entry.resolve(result);
    return !!entry;
  }

  /**
   * Delivers `result` to every subscriber once and resolves no waiting request: what a UI that answers a question of
   * its own (the AuthModal) publishes. Returns how many subscribers received it.
   */
  publish(result: AuthResult): number {
    return super.notify(result);
  }

  /**
   * Answers the current `request` (the oldest waiting, else the one set by hand) with `result` and tells the
   * subscribers — the call of custom UIs that show `userAuthHub.request`. Only that request is resolved: the others keep
   * waiting for their own answers. Returns how many subscribers and requests received it.
   */
  override notify(result: AuthResult): number {
    const subscribers = this.size;
    return subscribers + (this.answer(this.request, result) ? 1 : 0);
  }

  /**
   * The hand-off to a login page in one call: queues `request` (the login page shows the oldest waiting one) and
   * returns its answer. `result` resolves with the answer to this request only; `withdraw()` takes it off the hub.
   */
  awaitResult(request: UserAuthRequest): PendingAuthResult {
    let resolve!: (result: AuthResult) => void;
    const result = new Promise<AuthResult>((r) => (resolve = r));
    const entry: Waiting = { request, resolve };
    this.waiting.push(entry);
    return {
      result,
      withdraw: () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
      },
    };
  }
}

/**
 * The one hub every UI of the kit publishes on. Shared by every copy of the kit in the app (see `hub/shared`), so a
 * login page from a second, bundled copy still answers the login that waits.
 */
export const userAuthHub: UserAuthHub = shared('userAuthHub', () => new UserAuthHub());
