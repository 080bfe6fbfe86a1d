import { PrivacyRouter } from '../../hub/privacy';

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
