/**
 * "Already have a request layer?": the ready adapters of `miniprogram-login-kit/adapters`, each inside the real
 * library — uni-app's `uni.addInterceptor` (its own API runtime), Taro's `Taro.addInterceptor` chain, and axios 1.x
 * with a mini-program adapter over `wx.request` — against the reference server (3-second access tokens; the server's
 * clock is moved instead of sleeping), with the same promises `requestWithLogin` keeps.
 */
import axios, { AxiosError, type AxiosAdapter, type InternalAxiosRequestConfig } from 'axios';
import { axiosLoginInterceptors, taroLoginInterceptor, uniLoginInterceptor } from '../../adapters/index';
import { resultFromUserInfo } from '../../components/common/auth-events';
import { createNodeWx, type NodeWx } from '../../emulator/node-wx';
import { isLoginError } from '../../lib/errors';
import { LoginKit } from '../../lib/login-kit';
import type { LoginEvent, WxRequestOptions } from '../../lib/index';
import { startStack, type Stack } from '../../scripts/stack';
import { until } from '../helpers/app-device';
import { loadTaro, loadUni } from '../helpers/request-layers';

/** One call through the app's request layer: the answer as `{statusCode, data}` (axios rejects 4xx: mapped back). */
type Send = (options: { url: string; method?: 'GET' | 'POST'; data?: object }) => Promise<{ statusCode: number; data: unknown }>;

/** The phone: a `wx` whose `request` records each call's token and can hold answers back, delegating to this test's NodeWx. */
interface Phone {
  wx: NodeWx;
  /** The `Authorization` header of every `wx.request`, in order, with its URL. */
  sent: Array<{ url: string; auth: string | undefined }>;
  /** While set, answers are delivered only when it resolves. */
  hold: Promise<void> | null;
}

let stack: Stack;
let skew = 0;
let phone: Phone;

/**
 * The global `wx` every layer was built over: each API forwards to the current test's phone. (uni-app's runtime copies
 * the keys of `wx` into an object of its own when it loads, and makes that the global `wx`: forwarders survive that.)
 */
const current = (key: string | symbol) => (phone.wx as unknown as Record<string | symbol, unknown>)[key];
const forward = (key: string | symbol) => {
  const value = current(key);
  return typeof value === 'function' ? (...args: unknown[]) => (current(key) as (...a: unknown[]) => unknown).apply(phone.wx, args) : value;
};
const globalWxProxy = new Proxy(
  {},
  {
    get: (_, key) => forward(key),
    ownKeys: () => Reflect.ownKeys(phone.wx),
    getOwnPropertyDescriptor: (_, key) => ({ enumerable: true, configurable: true, value: forward(key) }),
  },
);

beforeAll(async () => {
  stack = await startStack({ server: { accessTtlSeconds: 3, now: () => Date.now() + skew } });
  (globalThis as Record<string, unknown>).wx = globalWxProxy;
});
afterAll(() => stack.close());

function newPhone(openid: string): Phone {
  const wx = createNodeWx({ emulator: stack.emulator, openid });
  const next: Phone = { wx, sent: [], hold: null };
  const request = wx.request.bind(wx);
  wx.request = (options: WxRequestOptions) => {
    next.sent.push({ url: options.url, auth: options.header?.Authorization });
    const later =
      (callback: ((value: never) => void) | undefined) =>
      (value: unknown): void => {
        if (!callback) return;
        if (next.hold) void next.hold.then(() => callback(value as never));
        else callback(value as never);
      };
    return request({ ...options, success: later(options.success), fail: later(options.fail) });
  };
  return next;
}

/** A logged-in kit on a new phone, and its events. */
async function loggedIn(openid: string) {
  phone = newPhone(openid);
  const kit = new LoginKit();
  kit.config({
    source: 'demo-app',
    baseURL: stack.baseURL,
    wx: phone.wx,
    userAuthHandler: async () => resultFromUserInfo(stack.emulator.userInfoDetail(openid)),
    expiryLeewayMs: 0,
    logger: { warn: jest.fn(), error: jest.fn() },
  });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  await kit.login();
  phone.sent.length = 0;
  phone.wx.maxInFlight = 0;
  return { kit, events };
}

/** axios's mini-program adapter over the global `wx.request` (what axios-miniprogram adapters do). */
const wxAdapter: AxiosAdapter = (config: InternalAxiosRequestConfig) =>
  new Promise((resolve, reject) => {
    (globalThis as unknown as { wx: NodeWx }).wx.request({
      url: axios.getUri(config),
      method: (config.method ?? 'get').toUpperCase() as 'GET',
      data: config.data,
      header: config.headers.toJSON() as Record<string, string>,
      success: (result) => {
        const response = { data: result.data, status: result.statusCode, statusText: '', headers: result.header, config, request: null };
        if (!config.validateStatus || config.validateStatus(result.statusCode)) resolve(response);
        else
          reject(
            new AxiosError(`Request failed with status code ${result.statusCode}`, AxiosError.ERR_BAD_RESPONSE, config, null, response),
          );
      },
      fail: (error) => reject(new AxiosError(error.errMsg, AxiosError.ERR_NETWORK, config)),
    });
  });

/** Each layer, built once over the global `wx`, with the kit of the current test plugged in through a forwarder. */
let currentKit: LoginKit;
const kitOfTheTest = {
  authorize: ((...args: Parameters<LoginKit['authorize']>) => currentKit.authorize(...args)) as LoginKit['authorize'],
  handleExpired: ((...args: Parameters<LoginKit['handleExpired']>) => currentKit.handleExpired(...args)) as LoginKit['handleExpired'],
};

const layers: Array<[string, () => Send]> = [
  [
    'uni.addInterceptor (uni-app 3)',
    () => {
      const uni = loadUni();
      uni.addInterceptor('request', uniLoginInterceptor(kitOfTheTest));
      return (options) => uni.request(options);
    },
  ],
  [
    'Taro.addInterceptor (Taro 4)',
    () => {
      const taro = loadTaro();
      taro.addInterceptor(taroLoginInterceptor(kitOfTheTest));
      return (options) => taro.request(options);
    },
  ],
  [
    'axios 1.x interceptors with a mini-program adapter',
    () => {
      const instance = axios.create({ adapter: wxAdapter });
      axiosLoginInterceptors(instance, kitOfTheTest);
      return (options) =>
        instance.request({ url: options.url, method: options.method, data: options.data }).then(
          (response) => ({ statusCode: response.status, data: response.data }),
          (error: unknown) => {
            if (error instanceof AxiosError && error.response) return { statusCode: error.response.status, data: error.response.data };
            throw error;
          },
        );
    },
  ],
];

describe.each(layers)('%s', (name, build) => {
  let send: Send;
  beforeAll(() => {
    phone = newPhone('setup');
    (globalThis as Record<string, unknown>).wx = globalWxProxy;
    send = build();
  });
  const id = name.split(' ')[0];
  const comment = (text: string) => send({ url: `${stack.baseURL}/api/comments`, method: 'POST', data: { text } });

  it('takes 30 concurrent requests across an expiry with 1 refresh: 30 successes, at most 10 in flight, only the first wave with the dead token', async () => {
    const { kit, events } = await loggedIn(`${id}-burst`);
    currentKit = kit;
    const dead = `Bearer ${kit.getState()!.accessToken}`;
    skew += 4000;
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => comment(`${i}`)));
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(30).fill(201));
    expect(events.filter((event) => event.type === 'refreshStart')).toHaveLength(1);
    expect(phone.wx.maxInFlight).toBeLessThanOrEqual(10);
    const withDeadToken = phone.sent.filter((call) => call.auth === dead);
    expect(withDeadToken.length).toBeGreaterThan(0);
    expect(withDeadToken.length).toBeLessThanOrEqual(10);
    expect(phone.sent.filter((call) => call.url.endsWith('/api/comments'))).toHaveLength(30 + withDeadToken.length);
  });

  it('replays a stale 401 (an answer for a token already replaced) with the current token, refreshing nothing more', async () => {
    const { kit, events } = await loggedIn(`${id}-stale`);
    currentKit = kit;
    skew += 4000;
    let release!: () => void;
    phone.hold = new Promise((resolve) => (release = resolve));
    const first = comment('held'); // goes out with the dead token; its 401 is held back
    await until(() => phone.sent.length >= 1);
    phone.hold = null;
    expect(await comment('second')).toMatchObject({ statusCode: 201 }); // 401 → the one refresh → replay
    expect(events.filter((event) => event.type === 'refreshStart')).toHaveLength(1);
    release();
    expect(await first).toMatchObject({ statusCode: 201 });
    expect(events.filter((event) => event.type === 'refreshStart')).toHaveLength(1);
  });

  it('sends no token to another origin', async () => {
    const { kit } = await loggedIn(`${id}-origin`);
    currentKit = kit;
    const other = stack.baseURL.replace('127.0.0.1', 'localhost'); // another origin: same server, another host
    await send({ url: `${other}/anything` }).catch(() => undefined);
    const call = phone.sent.find((sent) => sent.url.startsWith(other));
    expect(call).toBeDefined();
    expect(call!.auth).toBeUndefined();
  });

  it('rejects what waits for a slot with LOGGED_OUT on logout(), sending none of it', async () => {
    const { kit } = await loggedIn(`${id}-logout`);
    currentKit = kit;
    let release!: () => void;
    phone.hold = new Promise((resolve) => (release = resolve));
    const calls = Array.from({ length: 15 }, (_, i) =>
      comment(`${i}`).then(
        () => 'answered',
        (error: unknown) => error,
      ),
    );
    await until(() => phone.sent.length >= 10);
    expect(phone.sent).toHaveLength(10); // 10 in flight, 5 waiting for a slot
    const loggingOut = kit.logout();
    const outcomes = await Promise.race([Promise.all(calls.slice(10)), new Promise((resolve) => setTimeout(resolve, 10_000, 'hung'))]);
    expect(Array.isArray(outcomes) && outcomes.every((error) => isLoginError(error) && error.code === 'LOGGED_OUT')).toBe(true);
    expect(phone.sent.filter((call) => call.url.endsWith('/api/comments'))).toHaveLength(10);
    phone.hold = null;
    release();
    await Promise.all([loggingOut, ...calls]);
  });
});

/**
 * `task.abort()` through the interceptors, inside the real Taro and uni-app runtimes: what a page that aborts its
 * requests on unload relies on. (Without the kit's interceptor, both frameworks return WeChat's task methods; with it,
 * they must still be there and must work.)
 */
type Abortable = Promise<{ statusCode: number }> & { abort?: () => void };
const frameworks: Array<[string, () => (options: object) => Abortable]> = [
  [
    'uni-app',
    () => {
      const uni = loadUni();
      uni.addInterceptor('request', uniLoginInterceptor(kitOfTheTest));
      return (options) => uni.request(options) as Abortable;
    },
  ],
  [
    'Taro',
    () => {
      const taro = loadTaro();
      taro.addInterceptor(taroLoginInterceptor(kitOfTheTest));
      return (options) => taro.request(options) as Abortable;
    },
  ],
];

describe.each(frameworks)('abort through the %s interceptor', (name, build) => {
  let request: (options: object) => Abortable;
  beforeAll(() => {
    phone = newPhone('setup');
    (globalThis as Record<string, unknown>).wx = globalWxProxy;
    request = build();
  });
  const aborted = (call: Abortable) =>
    Promise.race([
      call.then(
        () => 'answered',
        (error: { code?: string; errMsg?: string }) => `${error.code} ${error.errMsg}`,
      ),
      new Promise((resolve) => setTimeout(resolve, 10_000, 'hung')),
    ]);

  it('aborts a request still waiting for its login or slot: rejected ABORTED, nothing sent', async () => {
    const { kit } = await loggedIn(`${name}-abort-early`);
    currentKit = kit;
    const call = request({ url: `${stack.baseURL}/api/comments`, method: 'POST', data: { text: 'early' } });
    expect(typeof call.abort).toBe('function');
    call.abort!();
    expect(await aborted(call)).toBe('ABORTED request:fail abort');
    // A later call goes out and is answered: the aborted one, ahead of it, would have gone out by then.
    expect((await request({ url: `${stack.baseURL}/api/me` })).statusCode).toBe(200);
    expect(phone.sent.map((sent) => sent.url.replace(stack.baseURL, ''))).toEqual(['/api/me']);
  });

  it('gives the slot back after a network error: 10 interrupted requests, then an 11th goes out', async () => {
    const { kit } = await loggedIn(`${name}-network-error`);
    currentKit = kit;
    const working = phone.wx.request;
    phone.wx.request = (options: WxRequestOptions) => {
      setImmediate(() => options.fail?.({ errMsg: 'request:fail interrupted' }));
      return { abort: () => undefined } as never;
    };
    const failed = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request({ url: `${stack.baseURL}/api/comments`, method: 'POST', data: { text: `${i}` } }).then(
          () => 'answered',
          (error: { errMsg?: string }) => error.errMsg,
        ),
      ),
    );
    expect(failed).toEqual(Array(10).fill('request:fail interrupted'));
    phone.wx.request = working;
    const after = request({ url: `${stack.baseURL}/api/comments`, method: 'POST', data: { text: 'after' } });
    expect(
      await Promise.race([after.then((answer) => answer.statusCode), new Promise((resolve) => setTimeout(resolve, 10_000, 'hung'))]),
    ).toBe(201);
  });

  it('aborts a request in flight: rejected ABORTED at once, and its slot comes back', async () => {
    const { kit } = await loggedIn(`${name}-abort-late`);
    currentKit = kit;
    let release!: () => void;
    phone.hold = new Promise((resolve) => (release = resolve));
    const held = Array.from({ length: 10 }, (_, i) =>
      request({ url: `${stack.baseURL}/api/comments`, method: 'POST', data: { text: `${i}` } }),
    );
    await until(() => phone.sent.length >= 10);
    expect(phone.sent).toHaveLength(10); // every slot taken
    held[0].abort!();
    expect(await aborted(held[0])).toBe('ABORTED request:fail abort');
    phone.hold = null;
    release();
    await Promise.all(held.slice(1));
    const after = await request({ url: `${stack.baseURL}/api/comments`, method: 'POST', data: { text: 'after' } });
    expect(after.statusCode).toBe(201); // the aborted call's slot was given back
  });
});
