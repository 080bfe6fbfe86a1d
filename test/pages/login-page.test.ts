import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import simulate from 'miniprogram-simulate';
import { builtHub, fakeWx, mount, okUserInfo, privacyListener, text, usePrivacyMode } from '../helpers/simulate';

const { userAuthHub } = builtHub();
const navigateBack = fakeWx.navigateBack;

beforeEach(() => {
  navigateBack.mockClear();
  userAuthHub.request = null;
});

describe('the login page', () => {
  it('shows the tips of the waiting login', () => {
    userAuthHub.request = {
      tips: {
        ...DEFAULT_AUTH_TIPS,
        title: '登录后收藏',
        content: '收藏需要登录',
        confirmText: '授权',
        cancelText: '算了',
        authType: 'userInfo',
      },
    };
    const page = mount('pages/login/index');
    expect(text(page, '.lk-login-page__title')).toBe('登录后收藏');
    expect(text(page, '.lk-auth__confirm')).toBe('授权');
    expect(text(page, '.lk-auth__cancel')).toBe('算了');
  });

  it('shows the default tips when opened without a waiting login', () => {
    const page = mount('pages/login/index');
    expect(text(page, '.lk-login-page__title')).toBe('登录授权');
  });

  it('publishes the authorization on userAuthHub once and goes back', async () => {
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    userAuthHub.request = { tips: { ...DEFAULT_AUTH_TIPS, authType: 'userInfo' } };
    const page = mount('pages/login/index');
    page.querySelector('.lk-auth__confirm')!.dispatchEvent('getuserinfo', { detail: okUserInfo });
    await simulate.sleep(0);
    page.detach();
    expect(onHub).toHaveBeenCalledTimes(1);
    expect(onHub.mock.calls[0][0]).toMatchObject({ succeeded: true, authType: 'userInfo', data: { signature: 'abc' } });
    expect(navigateBack).toHaveBeenCalledTimes(1);
  });

  it('publishes a cancel and goes back when the user taps cancel', async () => {
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    const page = mount('pages/login/index');
    page.querySelector('.lk-auth__cancel')!.dispatchEvent('tap');
    await simulate.sleep(0);
    expect(onHub).toHaveBeenCalledWith(expect.objectContaining({ succeeded: false, errMsg: expect.stringMatching(/cancel/) }));
    expect(navigateBack).toHaveBeenCalledTimes(1);
  });

  it('publishes a cancel when the page goes away without an answer (back button, reLaunch)', () => {
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    const page = mount('pages/login/index');
    page.detach();
    expect(onHub).toHaveBeenCalledTimes(1);
    expect(onHub.mock.calls[0][0]).toMatchObject({ succeeded: false, errMsg: expect.stringMatching(/left the login page/) });
    expect(navigateBack).not.toHaveBeenCalled();
  });
});

describe('the login page with several logins waiting (a login and a phone step-up, two kits)', () => {
  const profileTips = { ...DEFAULT_AUTH_TIPS, title: '登录后评论', authType: 'profile' as const };
  const phoneTips = { ...DEFAULT_AUTH_TIPS, title: '绑定手机号', authType: 'phone' as const };

  it('asks each waiting question in turn, each answered with its own result, then goes back once', async () => {
    const profile = userAuthHub.awaitResult({ tips: profileTips });
    const phone = userAuthHub.awaitResult({ tips: phoneTips });
    const onPhone = jest.fn();
    void phone.result.then(onPhone);
    const page = mount('pages/login/index');
    expect(text(page, '.lk-login-page__title')).toBe('登录后评论');
    page.querySelector('.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: 'http://tmp/x.png' } });
    page.querySelector('.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: '小红' } } });
    expect(await profile.result).toMatchObject({ succeeded: true, authType: 'profile', data: { nickName: '小红' } });
    await simulate.sleep(0);
    expect(onPhone).not.toHaveBeenCalled(); // the profile answer never reaches the phone question
    expect(navigateBack).not.toHaveBeenCalled();
    expect(text(page, '.lk-login-page__title')).toBe('绑定手机号'); // the next question, on the same page
    page.querySelector('.lk-auth__confirm')!.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:ok', code: 'p-9' } });
    expect(await phone.result).toEqual({ succeeded: true, authType: 'phone', errMsg: 'getPhoneNumber:ok', data: { code: 'p-9' } });
    expect(navigateBack).toHaveBeenCalledTimes(1);
    expect(userAuthHub.request).toBeNull();
  });

  it('leaving it cancels each waiting question with a cancel of its own authType', async () => {
    const profile = userAuthHub.awaitResult({ tips: profileTips });
    const phone = userAuthHub.awaitResult({ tips: phoneTips });
    const page = mount('pages/login/index');
    page.detach();
    expect(await profile.result).toMatchObject({ succeeded: false, authType: 'profile', errMsg: expect.stringMatching(/cancel/) });
    expect(await phone.result).toMatchObject({ succeeded: false, authType: 'phone', errMsg: expect.stringMatching(/cancel/) });
    expect(userAuthHub.request).toBeNull();
  });

  it('answers nothing for a question that moved away meanwhile (the user navigated on): not even on unload', async () => {
    const moved = userAuthHub.awaitResult({ tips: phoneTips });
    const page = mount('pages/login/index');
    expect(text(page, '.lk-login-page__title')).toBe('绑定手机号');
    moved.withdraw(); // the default UI asks it on the page the user is on now
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    page.detach();
    await simulate.sleep(0);
    expect(onHub).not.toHaveBeenCalled();
  });
});

it("asks for the profile by default and, with privacy: 'kit', shows the privacy agreement when WeChat asks", async () => {
  usePrivacyMode('kit');
  const onHub = jest.fn();
  userAuthHub.subscribe(onHub);
  const page = mount('pages/login/index');
  expect(page.querySelector('.lk-auth__profile')).toBeTruthy();
  const resolve = jest.fn();
  privacyListener()(resolve, { referrer: 'chooseAvatar' });
  await simulate.sleep(0);
  expect(page.querySelector('#lk-agree-privacy')).toBeTruthy();
  page.querySelector('#lk-agree-privacy')!.dispatchEvent('agreeprivacyauthorization', { detail: {} });
  await simulate.sleep(0);
  expect(resolve).toHaveBeenLastCalledWith({ event: 'agree', buttonId: 'lk-agree-privacy' });
  page.querySelector('.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: 'http://tmp/x.png' } });
  page.querySelector('.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: '小红' } } });
  await simulate.sleep(0);
  expect(onHub).toHaveBeenCalledWith(
    expect.objectContaining({ succeeded: true, authType: 'profile', data: { nickName: '小红', avatarUrl: 'http://tmp/x.png' } }),
  );
  usePrivacyMode('official');
});
