import { builtHub, mount, okUserInfo, text, type Mounted } from '../helpers/simulate';
import type { AuthResult } from '../../lib/types';

const { userAuthHub } = builtHub();

interface ModalInstance {
  open(tips?: object): Promise<AuthResult>;
}
interface Listenable {
  addEventListener(name: string, listener: (event: { detail: AuthResult }) => void): void;
}
const instance = (modal: Mounted) => modal.instance as unknown as ModalInstance;

describe('AuthModal', () => {
  let modal: Mounted;
  beforeEach(() => {
    modal = mount('components/auth-modal/index');
  });

  it('renders nothing until opened, then shows the tips merged over the defaults', () => {
    expect(modal.querySelector('.lk-auth-modal')).toBeFalsy();
    void instance(modal).open({ title: '登录后评论', content: '评论需要登录' });
    expect(text(modal, '.lk-auth-modal__title')).toBe('登录后评论');
    expect(text(modal, '.lk-auth-modal__content')).toBe('评论需要登录');
    expect(text(modal, '.lk-auth-modal__confirm')).toBe('微信一键登录');
    expect(text(modal, '.lk-auth-modal__cancel')).toBe('暂不登录');
  });

  it('resolves, publishes on userAuthHub and emits "result" with the getUserInfo data, then closes', async () => {
    const onHub = jest.fn();
    userAuthHub.subscribe(onHub);
    const onResult = jest.fn();
    // j-component's root wrapper has addEventListener at runtime; its typings omit it.
    (modal as unknown as Listenable).addEventListener('result', (event) => onResult(event.detail));
    const answer = instance(modal).open();
    modal.querySelector('.lk-auth-modal__confirm')!.dispatchEvent('getuserinfo', { detail: okUserInfo });
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
    const answer = instance(modal).open();
    modal.querySelector('.lk-auth-modal__confirm')!.dispatchEvent('getuserinfo', { detail: { errMsg: 'getUserInfo:fail auth deny' } });
    expect(await answer).toEqual({ succeeded: false, authType: 'userInfo', errMsg: 'getUserInfo:fail auth deny' });
  });

  it.each(['.lk-auth-modal__cancel', '.lk-auth-modal__mask'])('treats a tap on %s as a cancel', async (selector) => {
    const answer = instance(modal).open();
    modal.querySelector(selector)!.dispatchEvent('tap');
    const result = await answer;
    expect(result.succeeded).toBe(false);
    expect(result.errMsg).toMatch(/cancel/);
  });

  it('asks for the phone number when tips.authType is "phone", passing the one-time code', async () => {
    const answer = instance(modal).open({ authType: 'phone', confirmText: '手机号登录' });
    expect(text(modal, '.lk-auth-modal__confirm')).toBe('手机号登录');
    modal.querySelector('.lk-auth-modal__confirm')!.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:ok', code: 'phone-code-1' } });
    expect(await answer).toEqual({ succeeded: true, authType: 'phone', errMsg: 'getPhoneNumber:ok', data: { code: 'phone-code-1' } });
  });

  it('keeps the errno of a failed phone authorization (1400001: quota used up)', async () => {
    const answer = instance(modal).open({ authType: 'phone' });
    modal.querySelector('.lk-auth-modal__confirm')!.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:fail no permission', errno: 1400001 } });
    expect(await answer).toEqual({ succeeded: false, authType: 'phone', errMsg: 'getPhoneNumber:fail no permission', errno: 1400001 });
  });

  it('shares one pending answer when opened twice', async () => {
    const first = instance(modal).open({ title: 'A' });
    const second = instance(modal).open({ title: 'B' });
    expect(second).toBe(first);
    expect(text(modal, '.lk-auth-modal__title')).toBe('A');
  });

  it('answers a cancel when it is removed while open, so nothing waits forever', async () => {
    const answer = instance(modal).open();
    modal.detach();
    expect(await answer).toMatchObject({ succeeded: false, errMsg: expect.stringMatching(/cancel \(the AuthModal was removed\)/) });
  });
});
