import { PrivacyRouter } from '../../hub/privacy';
import { SHARED_KEY } from '../../hub/shared';

describe('PrivacyRouter', () => {
  it('registers one listener, and none below base library 2.32.3 (no privacy API)', () => {
    const router = new PrivacyRouter();
    expect(router.install({})).toBe(false);
    const onNeedPrivacyAuthorization = jest.fn();
    expect(router.install({ onNeedPrivacyAuthorization })).toBe(true);
    expect(router.install({ onNeedPrivacyAuthorization })).toBe(true);
    expect(onNeedPrivacyAuthorization).toHaveBeenCalledTimes(1);
  });

  it('routes to the most recently shown kit UI, then to the app handler once the UI hides', () => {
    const router = new PrivacyRouter();
    const app = jest.fn();
    router.configure('kit', app, {});
    const ui = jest.fn();
    const hide = router.present(ui);
    const resolve = jest.fn();
    router.listener(resolve, { referrer: 'getUserProfile' });
    expect(ui).toHaveBeenCalledWith({ resolve, eventInfo: { referrer: 'getUserProfile' } });
    hide();
    router.listener(resolve, { referrer: 'getLocation' });
    expect(app).toHaveBeenCalledWith(resolve, { referrer: 'getLocation' });
  });

  it('answers "disagree" with a warning when nobody can show the agreement, so the API fails instead of hanging', () => {
    const router = new PrivacyRouter();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const resolve = jest.fn();
    router.listener(resolve, { referrer: 'getLocation' });
    expect(resolve).toHaveBeenCalledWith({ event: 'disagree' });
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});

describe('Login.config and the privacy agreement (from the app that handles privacy itself)', () => {
  const appWx = () => {
    const registered: unknown[] = [];
    return {
      registered,
      wx: {
        login: jest.fn(),
        request: jest.fn(),
        getStorageSync: () => '',
        setStorageSync: jest.fn(),
        removeStorageSync: jest.fn(),
        onNeedPrivacyAuthorization: (listener: unknown) => registered.push(listener),
      },
    };
  };

  // Each test is a new app: new modules, and a logic layer without the kit's shared instances.
  beforeEach(() => {
    jest.resetModules();
    delete (globalThis as Record<string, unknown>)[SHARED_KEY];
  });

  it("registers nothing by default: the app's own listener, registered first, stays the one WeChat calls", async () => {
    const app = appWx();
    (globalThis as unknown as { wx: unknown }).wx = app.wx;
    const appsOwn = jest.fn();
    app.wx.onNeedPrivacyAuthorization(appsOwn);
    const { createLogin, privacyRouter } = await import('../../index');
    createLogin({ source: 'app', baseURL: 'https://api.example.com', wx: app.wx });
    expect(privacyRouter.mode).toBe('official');
    expect(app.registered).toEqual([appsOwn]);
  });

  it("privacy: 'kit' requires the app's handler, then registers the kit's listener, which hands other APIs to that handler", async () => {
    const app = appWx();
    (globalThis as unknown as { wx: unknown }).wx = app.wx;
    const { createLogin, privacyRouter } = await import('../../index');
    expect(() => createLogin({ source: 'app', baseURL: 'https://api.example.com', wx: app.wx, privacy: 'kit' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    const handler = jest.fn();
    createLogin({ source: 'app', baseURL: 'https://api.example.com', wx: app.wx, privacy: 'kit', privacyAppHandler: handler });
    expect(app.registered).toEqual([privacyRouter.listener]);
    const resolve = jest.fn();
    privacyRouter.listener(resolve, { referrer: 'getLocation' });
    expect(handler).toHaveBeenCalledWith(resolve, { referrer: 'getLocation' });
    expect(resolve).not.toHaveBeenCalled();
  });
});
