/**
 * One instance per app, however many copies of the kit the bundler made. The objects that must be unique — the
 * `userAuthHub` every login UI answers on, the `privacyRouter` that owns WeChat's one privacy listener, and the
 * default `Login` with its session — are kept under a well-known key of the logic layer's global object
 * (`globalThis`; the global `wx` on a base library without it), shared by every module of the mini-program.
 *
 * A second copy (for instance uni-app's `wxcomponents/` beside the core in `common/vendor.js`, or Taro's advice to
 * copy third-party components into `src/`) then uses the first copy's instances: its login page answers the login
 * that waits, instead of a login that waits until `TIMEOUT` on a hub nobody publishes on. It is reported once with a
 * `console.warn`, because two copies still cost twice the bytes and `instanceof LoginError` fails across them.
 */
import { PACKAGE_NAME } from '../lib/errors';
import { globalWx } from '../lib/runtime';

/** The key of the global object under which the first copy of the kit keeps its shared instances. */
export const SHARED_KEY = '__miniprogramLoginKit__';

/** What the first copy stores under `SHARED_KEY`. */
interface SharedRegistry {
  /** The copy that loaded first (a token per copy of this module). */
  owner: object;
  /** Whether a second copy has been reported. */
  warned: boolean;
  /** The shared instances by name. */
  values: Record<string, unknown>;
}

/** This copy of the kit (each bundled copy of this module evaluates once, so each has its own token). */
const thisCopy = {};

/** The logic layer's global object: `globalThis`, else the global `wx`; undefined outside a mini-program host. */
function carrier(): Record<string, unknown> | undefined {
  if (typeof globalThis === 'object' && globalThis) return globalThis as unknown as Record<string, unknown>;
  return globalWx<Record<string, unknown>>();
}

/** The registry on the carrier, created (non-enumerable) by the first copy. */
function registry(): SharedRegistry | undefined {
  const host = carrier();
  if (!host) return undefined;
  const existing = host[SHARED_KEY] as SharedRegistry | undefined;
  if (existing && typeof existing === 'object' && existing.values) return existing;
  const created: SharedRegistry = { owner: thisCopy, warned: false, values: {} };
  Object.defineProperty(host, SHARED_KEY, { value: created, configurable: true, writable: true, enumerable: false });
  return created;
}

/**
 * The app's one instance named `name`: the one the first copy of the kit registered, else `create()`'s result, now
 * registered. Without a global object (no `globalThis` and no `wx`) every call creates its own instance.
 */
export function shared<T>(name: string, create: () => T): T {
  const store = registry();
  if (!store) return create();
  if (store.owner !== thisCopy && !store.warned) {
    store.warned = true;
    console.warn(
      `${PACKAGE_NAME}: a second copy of the kit was loaded; it uses the first copy's userAuthHub, privacyRouter and Login, ` +
        'so logins still work, but the app carries the kit twice. Bundle it once (README, "One copy of the kit").',
    );
  }
  if (!(name in store.values)) store.values[name] = create();
  return store.values[name] as T;
}
