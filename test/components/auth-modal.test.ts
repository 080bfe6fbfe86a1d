import simulate from 'miniprogram-simulate';
import { builtHub, fakeWx, mount, okUserInfo, privacyListener, text, usePrivacyMode, type Mounted } from '../helpers/simulate';
import type { AuthResult } from '../../lib/types';
import { DEFAULT_AUTH_TIPS } from '../../lib/tips';

const { userAuthHub } = builtHub();

interface ModalInstance {
  open(tips?: object): Promise<AuthResult>;
  withdraw(answer: Promise<AuthResult>): boolean;
}
interface Listenable {
  addEventListener(name: string, listener: (event: { detail: AuthResult }) => void): void;
}
const instance = (modal: Mounted) => modal.instance as unknown as ModalInstance;
const tapOn = (modal: Mounted, selector: string, event = 'tap', detail?: object) =>
  modal.querySelector(selector)!.dispatchEvent(event, detail ? { detail } : undefined);

describe('AuthModal', () => {
  let modal: Mounted;
  beforeEach(() => {
    modal = mount('components/auth-modal/index');
  });

  it('renders nothing until opened, then shows the tips merged over the defaults', () => {
    expect(modal.querySelector('.lk-auth-modal')).toBeFalsy();
    void instance(modal).open({ title: '登录后评论', content: '评论需要登录', authType: 'userInfo' });
    expect(text(modal, '.lk-auth-modal__title')).toBe('登录后评论');
    expect(text(modal, '.lk-auth-modal__content')).toBe('评论需要登录');
    expect(text(modal, '.lk-auth__confirm')).toBe('微信一键登录');
    expect(text(modal, '.lk-auth__cancel')).toBe('暂不登录');
  });

  describe('authType "userInfo" (classic)', () => {
    it('resolves, publishes on userAuthHub and emits "result" with the getUserInfo data, then closes', async () => {
      const onHub = jest.fn();
      userAuthHub.subscribe(onHub);
      const onResult = jest.fn();
      // j-component's root wrapper has addEventListener at runtime; its typings omit it.
      (modal as unknown as Listenable).addEventListener('result', (event) => onResult(event.detail));
      const answer = instance(modal).open({ authType: 'userInfo' });
      tapOn(modal, '.lk-auth__confirm', 'getuserinfo', okUserInfo);
      const result = await answer;
      expect(result).toEqual({
        succeeded: true,
        authType: 'userInfo',
        errMsg: 'getUserInfo:ok',
        data: { userInfo: okUserInfo.userInfo, rawData: okUserInfo.rawData, signature: 'abc', encryptedData: 'ENC', iv: 'IV' },
      });
      expect(onHub).toHaveBeenCalledTimes(1);
      expect(onHub).toHaveBeenCalledWith(result);
      expect(onResult).toHaveBeenCalledWith(result);
      expect(modal.querySelector('.lk-auth-modal')).toBeFalsy();
    });

    it('reports a WeChat refusal with its errMsg', async () => {
      const answer = instance(modal).open({ authType: 'userInfo' });
      tapOn(modal, '.lk-auth__confirm', 'getuserinfo', { errMsg: 'getUserInfo:fail auth deny' });
      expect(await answer).toEqual({ succeeded: false, authType: 'userInfo', errMsg: 'getUserInfo:fail auth deny' });
    });
  });

  describe('authType "profile" (the default: chooseAvatar + nickname)', () => {
    it('collects the chosen avatar and the nickname through the form submit', async () => {
      const answer = instance(modal).open();
      tapOn(modal, '.lk-auth__avatar', 'chooseavatar', { avatarUrl: 'http://tmp/avatar.png' });
      await simulate.sleep(0);
      tapOn(modal, '.lk-auth__profile', 'submit', { value: { nickName: ' 小明 ' } });
      expect(await answer).toEqual({
        succeeded: true,
        authType: 'profile',
        errMsg: 'profile:ok',
        data: { nickName: '小明', avatarUrl: 'http://tmp/avatar.png' },
      });
    });

    it('asks again instead of finishing when the avatar is missing or the content check rejected the nickname', async () => {
      const onHub = jest.fn();
      userAuthHub.subscribe(onHub);
      void instance(modal).open();
      tapOn(modal, '.lk-auth__profile', 'submit', { value: { nickName: '小明' } });
      await simulate.sleep(0);
      expect(text(modal, '.lk-auth__hint')).toBe('请先选择头像');
      tapOn(modal, '.lk-auth__avatar', 'chooseavatar', { avatarUrl: 'http://tmp/a.png' });
      tapOn(modal, '.lk-auth__nickname', 'nicknamereview', { pass: false, timeout: false });
      await simulate.sleep(0);
      expect(text(modal, '.lk-auth__hint')).toMatch(/请填写昵称/);
      tapOn(modal, '.lk-auth__profile', 'submit', { value: { nickName: '' } }); // WeChat cleared the rejected nickname
      await simulate.sleep(0);
      expect(onHub).not.toHaveBeenCalled();
      expect(modal.querySelector('.lk-auth-modal')).toBeTruthy();
    });
  });

  describe('authType "phone"', () => {
    it('passes the one-time code of getPhoneNumber', async () => {
      const answer = instance(modal).open({ authType: 'phone', confirmText: '手机号登录' });
      expect(text(modal, '.lk-auth__confirm')).toBe('手机号登录');
      tapOn(modal, '.lk-auth__confirm', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' });
      expect(await answer).toEqual({ succeeded: true, authType: 'phone', errMsg: 'getPhoneNumber:ok', data: { code: 'phone-code-1' } });
    });

    it('uses the real-time variant when tips.realtimePhone is set', async () => {
      const answer = instance(modal).open({ authType: 'phone', realtimePhone: true });
      tapOn(modal, '.lk-auth__confirm', 'getrealtimephonenumber', { errMsg: 'getRealtimePhoneNumber:ok', code: 'rt-1' });
      expect(await answer).toMatchObject({ succeeded: true, data: { code: 'rt-1' } });
    });

    it('keeps the errno of a failed phone authorization (1400001: quota used up)', async () => {
      const answer = instance(modal).open({ authType: 'phone' });
      tapOn(modal, '.lk-auth__confirm', 'getphonenumber', { errMsg: 'getPhoneNumber:fail no permission', errno: 1400001 });
      expect(await answer).toEqual({ succeeded: false, authType: 'phone', errMsg: 'getPhoneNumber:fail no permission', errno: 1400001 });
    });
  });

  describe("the privacy agreement in the kit's UI (opted in with privacy: 'kit')", () => {
    let appHandler: jest.Mock;
    beforeEach(() => {
      appHandler = usePrivacyMode('kit');
    });
    afterEach(() => usePrivacyMode('official'));

    it('is shown when WeChat asks while the modal is open, reports the exposure once, and agree resolves with the button id', async () => {
      void instance(modal).open({ authType: 'phone' });
      const resolve = jest.fn();
      privacyListener()(resolve, { referrer: 'button.getPhoneNumber' });
      await simulate.sleep(0);
      expect(text(modal, '.lk-auth__privacy-link')).toBe('《演示隐私保护指引》');
      expect(resolve.mock.calls).toEqual([[{ event: 'exposureAuthorization' }]]);
      tapOn(modal, '.lk-auth__privacy-link');
      await simulate.sleep(0);
      expect(fakeWx.openPrivacyContract).toHaveBeenCalledTimes(1);
      tapOn(modal, '#lk-agree-privacy', 'agreeprivacyauthorization', {});
      await simulate.sleep(0);
      expect(resolve.mock.calls).toEqual([[{ event: 'exposureAuthorization' }], [{ event: 'agree', buttonId: 'lk-agree-privacy' }]]);
      expect(modal.querySelector('.lk-auth__privacy')).toBeFalsy();
      expect(text(modal, '.lk-auth__confirm')).toBe('微信一键登录'); // back to the phone button, which continues by itself
    });

    it('disagree resolves "disagree" and ends the login with a privacy refusal', async () => {
      const answer = instance(modal).open({ authType: 'phone' });
      const resolve = jest.fn();
      privacyListener()(resolve, { referrer: 'button.getPhoneNumber' });
      await simulate.sleep(0);
      tapOn(modal, '.lk-auth__disagree');
      const result = await answer;
      expect(resolve).toHaveBeenLastCalledWith({ event: 'disagree' });
      expect(result).toMatchObject({ succeeded: false, errMsg: expect.stringMatching(/privacy permission is not authorized/) });
    });

    it("is not routed to a closed modal: the app's own handler gets it, never a silent disagree", async () => {
      const answer = instance(modal).open({ authType: 'phone' });
      tapOn(modal, '.lk-auth__cancel');
      await answer;
      const resolve = jest.fn();
      privacyListener()(resolve, { referrer: 'getLocation' });
      expect(appHandler).toHaveBeenCalledWith(resolve, { referrer: 'getLocation' });
      expect(resolve).not.toHaveBeenCalled();
    });
  });

  describe("WeChat's official privacy popup (the default)", () => {
    it('registers no privacy listener: an app that registered its own keeps it', async () => {
      const appsOwn = jest.fn();
      fakeWx.onNeedPrivacyAuthorization(appsOwn); // the app's own privacy popup, registered first
      fakeWx.requirePrivacyAuthorize.mockClear();
      mount('components/auth-modal/index');
      void instance(modal).open({ authType: 'phone' });
      await simulate.sleep(0);
      expect(privacyListener()).toBe(appsOwn);
      expect(fakeWx.requirePrivacyAuthorize).not.toHaveBeenCalled(); // the phone button raises the popup by itself
    });

    it('asks wx.requirePrivacyAuthorize before the profile form (a nickname input does not raise the popup)', async () => {
      fakeWx.requirePrivacyAuthorize.mockClear();
      void instance(modal).open({ authType: 'profile' });
      expect(fakeWx.requirePrivacyAuthorize).toHaveBeenCalledTimes(1);
      expect(modal.querySelector('.lk-auth__profile')).toBeTruthy();
    });

    it('a late refusal of the popup answers only its own question, not the next one shown', async () => {
      let refuse!: () => void;
      fakeWx.requirePrivacyAuthorize.mockImplementationOnce((options) => {
        refuse = () => options.fail?.({ errMsg: 'requirePrivacyAuthorize:fail auth deny' });
      });
      const profile = instance(modal).open({ authType: 'profile' });
      const phone = instance(modal).open({ authType: 'phone' });
      let phoneAnswer: AuthResult | undefined;
      void phone.then((r) => (phoneAnswer = r));
      tapOn(modal, '.lk-auth__cancel'); // the user closes the profile question; the phone one is shown
      expect(await profile).toMatchObject({ succeeded: false, authType: 'profile' });
      refuse(); // WeChat's popup reports late
      await simulate.sleep(0);
      expect(phoneAnswer).toBeUndefined();
      expect(modal.querySelector('.lk-auth-modal')).toBeTruthy();
    });

    it('ends the login with a privacy refusal when the user refuses the official popup', async () => {
      fakeWx.requirePrivacyAuthorize.mockImplementationOnce((options) =>
        options.fail?.({ errMsg: 'requirePrivacyAuthorize:fail auth deny' }),
      );
      const result = await instance(modal).open({ authType: 'profile' });
      expect(result).toMatchObject({
        succeeded: false,
        authType: 'profile',
        errMsg: expect.stringMatching(/privacy permission is not authorized/),
      });
    });
  });

  it.each(['.lk-auth__cancel', '.lk-auth-modal__mask'])('treats a tap on %s as a cancel', async (selector) => {
    const answer = instance(modal).open();
    tapOn(modal, selector);
    const result = await answer;
    expect(result.succeeded).toBe(false);
    expect(result.errMsg).toMatch(/cancel/);
  });

  it('asks a second question after the first: each open() gets the answer to its own question', async () => {
    const onResult = jest.fn();
    (modal as unknown as Listenable).addEventListener('result', (event) => onResult(event.detail));
    let firstAnswer: AuthResult | undefined;
    let secondAnswer: AuthResult | undefined;
    const first = instance(modal).open({ title: '登录后评论', authType: 'userInfo' });
    const second = instance(modal).open({ title: '绑定手机号', authType: 'phone' });
    expect(second).not.toBe(first);
    void first.then((r) => (firstAnswer = r));
    void second.then((r) => (secondAnswer = r));
    expect(text(modal, '.lk-auth-modal__title')).toBe('登录后评论');
    tapOn(modal, '.lk-auth__confirm', 'getuserinfo', okUserInfo);
    await simulate.sleep(0);
    expect(firstAnswer).toMatchObject({ succeeded: true, authType: 'userInfo' });
    expect(secondAnswer).toBeUndefined(); // the userInfo answer never reaches the phone question
    expect(text(modal, '.lk-auth-modal__title')).toBe('绑定手机号'); // now the phone question is shown
    tapOn(modal, '.lk-auth__confirm', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: 'phone-code-2' });
    expect(await second).toEqual({ succeeded: true, authType: 'phone', errMsg: 'getPhoneNumber:ok', data: { code: 'phone-code-2' } });
    expect(onResult.mock.calls.map(([r]) => r.authType)).toEqual(['userInfo', 'phone']);
    expect(modal.querySelector('.lk-auth-modal')).toBeFalsy();
  });

  it('answers no request waiting on userAuthHub: its answer is for the question it showed', async () => {
    const waiting = userAuthHub.awaitResult({ tips: { ...DEFAULT_AUTH_TIPS, authType: 'phone' } });
    const onWaiting = jest.fn();
    void waiting.result.then(onWaiting);
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    const answer = instance(modal).open({ authType: 'userInfo' });
    tapOn(modal, '.lk-auth__confirm', 'getuserinfo', okUserInfo);
    await answer;
    await simulate.sleep(0);
    expect(onHub).toHaveBeenCalledWith(expect.objectContaining({ authType: 'userInfo' })); // subscribers still see it
    expect(onWaiting).not.toHaveBeenCalled();
    waiting.withdraw();
  });

  it('withdraw(answer) closes the question without answering it; its page going away later answers nothing', async () => {
    const onResult = jest.fn();
    (modal as unknown as Listenable).addEventListener('result', (event) => onResult(event.detail));
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    const moved = instance(modal).open({ authType: 'phone' });
    expect(instance(modal).withdraw(moved)).toBe(true);
    expect(modal.querySelector('.lk-auth-modal')).toBeFalsy();
    expect(await moved).toMatchObject({ succeeded: false, errMsg: expect.stringMatching(/moved to another page/) });
    modal.detach();
    await simulate.sleep(0);
    expect(onResult).not.toHaveBeenCalled();
    expect(onHub).not.toHaveBeenCalled();
    expect(instance(modal).withdraw(moved)).toBe(false);
  });

  it('answers a cancel to every question it holds when it is removed, so nothing waits forever', async () => {
    const answer = instance(modal).open();
    const queued = instance(modal).open({ authType: 'phone' });
    modal.detach();
    expect(await answer).toMatchObject({ succeeded: false, errMsg: expect.stringMatching(/cancel \(the AuthModal was removed\)/) });
    expect(await queued).toMatchObject({ succeeded: false, authType: 'phone', errMsg: expect.stringMatching(/cancel/) });
  });
});
