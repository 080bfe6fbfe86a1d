/**
 * The fast path of `requestWithLogin`, on the build that ships (`miniprogram_dist`): what one common request creates —
 * promises and timers, counted with async_hooks (counts, not timings: the benchmark times it) — and that leaving it
 * changes nothing a caller sees.
 */
import path from 'path';
import { created } from '../../scripts/async-counts';
import type { LoginKit as LoginKitType } from '../../lib/login-kit';
import type { WxAdapter, WxRequestOptions } from '../../lib/runtime';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LoginKit } = require(path.resolve(__dirname, '../../miniprogram_dist/lib/index.js')) as { LoginKit: typeof LoginKitType };

function phone(answer: () => { statusCode: number; data?: unknown; header?: Record<string, string> }) {
  const storage = new Map<string, unknown>();
  const sent: WxRequestOptions[] = [];
  const wx: WxAdapter = {
    login: (o) => void setImmediate(() => o.success?.({ code: 'code' })),
    request: (o) => {
      sent.push(o);
      setImmediate(() => o.success?.({ header: {}, data: undefined, ...answer() }));
      return { abort: () => undefined };
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => void storage.set(key, value),
    removeStorageSync: (key) => void storage.delete(key),
  };
  let issued = 0;
  const backend = {
    login: async () => ({ status: 'ok' as const, session: { accessToken: `token-${++issued}`, expiresIn: 3600 } }),
  };
  const kit = new LoginKit();
  kit.config({ source: 'app', baseURL: 'https://api.test', wx, backend, logger: { warn: jest.fn(), error: jest.fn() } });
  return { kit, sent };
}

it('sends a common request with a fresh session in at most 4 promises and no timer of its own', async () => {
  const { kit, sent } = phone(() => ({ statusCode: 200, data: { ok: true } }));
  await kit.login();
  await kit.requestWithLogin({ url: '/api/warm-up' }); // the watchdog's one timer starts here, shared afterwards
  const counts = await created(() => kit.requestWithLogin({ url: '/api/data', method: 'POST', data: { a: 1 }, header: { 'x-app': '1' } }));
  expect(counts.promises).toBeLessThanOrEqual(4);
  expect(counts.timers).toBe(0);
  const last = sent[sent.length - 1];
  expect(last).toMatchObject({
    url: 'https://api.test/api/data',
    method: 'POST',
    data: { a: 1 },
    header: { 'x-app': '1', Authorization: 'Bearer token-1' },
  });
  expect(last).not.toHaveProperty('loginOpts');
});

it('leaves the fast path for the gate on a "session expired" answer: one renewal, one replay, the new token', async () => {
  let first = true;
  const { kit, sent } = phone(() => {
    if (first) {
      first = false;
      return { statusCode: 401, data: { code: 'TOKEN_EXPIRED' } };
    }
    return { statusCode: 200, data: { ok: true } };
  });
  await kit.login();
  const response = await kit.requestWithLogin({ url: '/api/data', loginOpts: { mode: 'common' } });
  expect(response.statusCode).toBe(200);
  expect(sent.map((o) => (o.header as Record<string, string>).Authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
});
