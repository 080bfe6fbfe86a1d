/**
 * What mini-program teams ask a login library for (issue 14), from the app's side: uploads and downloads that carry
 * the token and survive its expiry (against the reference server), hooks around every call, the loading toast, a
 * timing report, the login funnel, and WeChat's real-time log.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { createNodeWx } from '../../emulator/node-wx';
import { createFakeWx, FakeBackend, FakeClock, flush, userInfoResult } from '../helpers/fakes';
import { createPageUserAuthHandler, type PageLike } from '../../hub/page-ui';
import { LoginKit } from '../../lib/login-kit';
import { isLoginError, LoginError } from '../../lib/errors';
import { realtimeLog } from '../../lib/realtime-log';
import type { AuthResult, LoginEvent, RequestTaskHandle, TimingReport } from '../../lib/types';
import { startStack, type Stack } from '../../scripts/stack';

let stack: Stack;
let skew = 0;
beforeAll(async () => {
  stack = await startStack({ registration: 'silent', server: { accessTtlSeconds: 3, now: () => Date.now() + skew } });
});
afterAll(() => stack.close());

function client(person: string, extra: Parameters<LoginKit['config']>[0] extends infer O ? Partial<O> : never = {}) {
  const wx = createNodeWx({ emulator: stack.emulator, openid: person });
  const kit = new LoginKit();
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  kit.config({ source: 'demo-app', baseURL: stack.baseURL, wx, logger: { warn: jest.fn(), error: jest.fn() }, ...extra });
  return { kit, wx, events };
}

function file(content: string): string {
  const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-up-')), 'notes.txt');
  fs.writeFileSync(target, content);
  return target;
}

describe('uploadFile and downloadFile', () => {
  it('carry the token, report progress, and recover from a 401 through one refresh, sending the file again', async () => {
    const { kit, wx, events } = client('uploader');
    await kit.login();
    skew += 4000; // the access token (3 s) expired on the server
    const progress = jest.fn();
    const uploaded = await kit.uploadFile<{ id: string; size: number }>({
      url: '/api/files',
      filePath: file('hello'),
      name: 'file',
      onTask: (task: RequestTaskHandle) => task.onProgressUpdate(progress),
    });
    expect(uploaded.statusCode).toBe(201);
    expect(uploaded.data.size).toBe(5);
    expect(wx.requested.filter((r) => r === 'UPLOAD /api/files')).toHaveLength(2); // sent, 401, refreshed, sent again
    expect(events.filter((e) => e.type === 'refreshStart')).toHaveLength(1);
    expect(progress).toHaveBeenCalledWith(expect.objectContaining({ progress: 100 }));

    skew += 4000;
    const downloaded = await kit.downloadFile({ url: `/api/files/${uploaded.data.id}` });
    expect(downloaded.statusCode).toBe(200);
    expect(fs.readFileSync(downloaded.tempFilePath!, 'utf8')).toBe('hello');
    expect(wx.requested.filter((r) => r.startsWith('DOWNLOAD'))).toHaveLength(2);
    expect(events.filter((e) => e.type === 'refreshStart')).toHaveLength(2);
  });

  it('never send the token to another origin', async () => {
    const { kit } = client('careful');
    const seen: Array<string | undefined> = [];
    const foreign = await import('fastify').then((m) => m.default());
    foreign.get('/f', async (request) => (seen.push(request.headers.authorization), 'x'));
    const url = await foreign.listen({ host: '127.0.0.1', port: 0 });
    await kit.login();
    await kit.downloadFile({ url: `${url}/f` });
    expect(seen).toEqual([undefined]);
    await foreign.close();
  });
});

describe('hooks', () => {
  it('beforeRequest runs on requests, uploads and downloads; afterResponse unwraps; a hook error is the caller’s rejection', async () => {
    const kinds: string[] = [];
    const { kit, wx } = client('hooked', {
      hooks: {
        beforeRequest: [(request, { kind }) => (kinds.push(kind), { ...request, header: { ...request.header, 'X-Trace-Id': 't-1' } })],
        afterResponse: [
          (response) =>
            response.statusCode === 200 && response.data && typeof response.data === 'object' && 'user' in (response.data as object)
              ? { ...response, data: (response.data as { user: unknown }).user }
              : undefined,
        ],
      },
    });
    const me = await kit.requestWithLogin<{ id: string }>({ url: '/api/me' });
    expect(me.data.id).toEqual(expect.any(String)); // unwrapped
    const up = await kit.uploadFile<{ id: string }>({ url: '/api/files', filePath: file('x'), name: 'file' });
    await kit.downloadFile({ url: `/api/files/${up.data.id}` });
    expect(kinds).toEqual(['request', 'uploadFile', 'downloadFile']);
    expect(wx.requested).toContain('GET /api/me');

    const failing = client('hook-error', { hooks: { beforeRequest: [() => Promise.reject(new Error('signing failed'))] } });
    await expect(failing.kit.requestWithLogin({ url: '/api/me' })).rejects.toThrow('signing failed');
  });

  it('serves a seed-1 style backend: HTTP 200 with business code 3001 for an expired session, unwrapped by afterResponse', async () => {
    // The backend answers {code, data, message}; code 3001 means the session expired. No refresh token: a new login.
    const backend = new FakeBackend();
    backend.registered.add('alice');
    backend.issueRefreshTokens = false;
    const inner = backend.handle;
    let expireNext = true;
    backend.handle = async (req) => {
      if (!req.url.includes('/api/')) return inner(req);
      if (expireNext) {
        expireNext = false;
        return { statusCode: 200, header: {}, data: { code: 3001, message: 'session expired' } };
      }
      return { statusCode: 200, header: {}, data: { code: 0, data: { items: [1, 2] }, message: 'ok' } };
    };
    const fake = createFakeWx(backend);
    const kit = new LoginKit();
    kit.config({
      source: 'legacy',
      baseURL: 'https://api.test',
      wx: fake.wx,
      clock: new FakeClock(),
      isSessionExpired: (res) => (res.data as { code?: number } | null)?.code === 3001,
      hooks: {
        afterResponse: [
          (res) => {
            const body = res.data as { code: number; data: unknown; message: string };
            if (body.code !== 0) throw new LoginError('LOGIN_FAILED', body.message, { backendCode: String(body.code) });
            return { ...res, data: body.data };
          },
        ],
      },
    });
    const response = await kit.requestWithLogin<{ items: number[] }>({ url: '/api/list' });
    expect(response.data.items).toEqual([1, 2]);
    expect(fake.loginCount).toBe(2); // the expired session was re-established by a fresh login
  });
});

describe('the loading toast and the timing report', () => {
  it('shows the toast while a call runs and hides it after success and after failure', async () => {
    const timings: TimingReport[] = [];
    const { kit, wx } = client('loader', { hooks: { onTiming: (report) => timings.push(report) } });
    const pending = kit.requestWithLogin({ url: '/api/me', showLoading: '登录中' });
    expect(wx.loading).toBe('登录中');
    await pending;
    expect(wx.loading).toBeNull();
    const failed = kit.requestWithLogin({ url: 'http://127.0.0.1:1/nothing', showLoading: true }).catch((e: unknown) => e);
    expect(wx.loading).toBe('加载中');
    expect(isLoginError(await failed)).toBe(true);
    expect(wx.loading).toBeNull();
    expect(timings.map((t) => [t.kind, t.url, t.statusCode, t.error])).toEqual([
      ['request', '/api/me', 200, undefined],
      ['request', 'http://127.0.0.1:1/nothing', undefined, 'NETWORK_ERROR'],
    ]);
    expect(timings[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('steps aside while the login UI is on screen', async () => {
    const backend = new FakeBackend();
    const fake = createFakeWx(backend);
    const shown: Array<string | null> = [];
    let current: string | null = null;
    fake.wx.showLoading = (o) => void (current = o.title);
    fake.wx.hideLoading = () => void (current = null);
    const kit = new LoginKit();
    kit.config({
      source: 'app',
      baseURL: 'https://api.test',
      wx: fake.wx,
      clock: new FakeClock(),
      userAuthHandler: async () => (shown.push(current), userInfoResult()),
    });
    await kit.requestWithLogin({ url: '/api/data', showLoading: true });
    expect(shown).toEqual([null]);
    expect(current).toBeNull();
  });
});

describe('the login funnel', () => {
  it('reports the UI shown (modal, route), the answer with the time it was open, and the login’s step timings', async () => {
    const backend = new FakeBackend();
    const fake = createFakeWx(backend);
    const clock = new FakeClock();
    let answer!: (result: AuthResult) => void;
    const page: PageLike = {
      route: 'pages/article',
      selectComponent: () => ({ open: () => new Promise<AuthResult>((resolve) => (answer = resolve)) }),
    };
    const kit = new LoginKit();
    const events: LoginEvent[] = [];
    kit.onStateChange((event) => events.push(event));
    kit.config({
      source: 'app',
      baseURL: 'https://api.test',
      wx: fake.wx,
      clock,
      userAuthHandler: createPageUserAuthHandler({ runtime: { getCurrentPages: () => [page], navigateTo: jest.fn() } }),
    });
    const login = kit.login();
    await flush();
    await clock.advance(4000); // the user reads the modal for 4 s
    answer(userInfoResult());
    await login;
    const funnel = events.filter((e) => e.type === 'uiShown' || e.type === 'uiAnswered' || e.type === 'login');
    expect(funnel).toEqual([
      { type: 'uiShown', authType: 'profile', via: 'modal', route: 'pages/article' },
      expect.objectContaining({ type: 'uiAnswered', succeeded: true, openMs: 4000, privacyRefused: false }),
      expect.objectContaining({ type: 'login', timings: expect.objectContaining({ uiMs: 4000, totalMs: 4000 }) }),
    ]);
  });

  it('writes the kit’s warnings and one line per event to WeChat’s real-time log, never a token', async () => {
    const manager = { info: jest.fn(), warn: jest.fn(), error: jest.fn(), addFilterMsg: jest.fn() };
    const log = realtimeLog(manager);
    const { kit } = client('logged', { logger: log.logger });
    kit.onStateChange(log.onEvent);
    const state = await kit.login();
    expect(manager.info).toHaveBeenCalledWith('miniprogram-login-kit', expect.objectContaining({ type: 'login', isNewUser: true }));
    expect(JSON.stringify(manager.info.mock.calls)).not.toContain(state.accessToken);
    expect(JSON.stringify(manager.info.mock.calls)).not.toContain(state.refreshToken!);
    log.logger.warn('something', new Error('boom'));
    expect(manager.warn).toHaveBeenCalledWith('something', 'Error: boom');
  });
});
