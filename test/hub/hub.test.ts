import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import { Hub, UserAuthHub } from '../../hub/index';
import { cancelledResult } from '../../components/common/auth-events';
import type { AuthResult } from '../../lib/types';

describe('Hub', () => {
  it('delivers a value to every current subscriber once, then forgets them', () => {
    const hub = new Hub<number>();
    const a = jest.fn();
    const b = jest.fn();
    hub.subscribe(a);
    hub.subscribe(b);
    expect(hub.notify(1)).toBe(2);
    expect(hub.notify(2)).toBe(0);
    expect(a.mock.calls).toEqual([[1]]);
    expect(b.mock.calls).toEqual([[1]]);
  });

  it('returns an unsubscribe function that is safe to call twice', () => {
    const hub = new Hub<number>();
    const a = jest.fn();
    const b = jest.fn();
    const off = hub.subscribe(a);
    hub.subscribe(b);
    off();
    off();
    hub.notify(1);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('is harmless to notify with nobody listening, and survives a listener that throws', () => {
    const hub = new Hub<number>();
    expect(() => hub.notify(1)).not.toThrow();
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const after = jest.fn();
    hub.subscribe(() => {
      throw new Error('boom');
    });
    hub.subscribe(after);
    hub.notify(2);
    expect(after).toHaveBeenCalledWith(2);
    expect(error).toHaveBeenCalledTimes(1);
    error.mockRestore();
  });

  it('rejects a listener that is not a function', () => {
    expect(() => new Hub<number>().subscribe('x' as never)).toThrow(/expects a function/);
  });
});

describe('UserAuthHub', () => {
  it('clears the pending request when a result is published', () => {
    const hub = new UserAuthHub();
    hub.request = { tips: { ...DEFAULT_AUTH_TIPS, title: 't', content: 'c', confirmText: 'ok', cancelText: 'no', authType: 'userInfo' } };
    hub.notify(cancelledResult('userInfo', 'test'));
    expect(hub.request).toBeNull();
  });
});

describe('UserAuthHub: an answer resolves only the request it answers', () => {
  const profile = { tips: { ...DEFAULT_AUTH_TIPS, authType: 'profile' as const } };
  const phone = { tips: { ...DEFAULT_AUTH_TIPS, authType: 'phone' as const } };
  const phoneAnswer: AuthResult = { succeeded: true, authType: 'phone', data: { code: 'p-1' } };
  const profileAnswer: AuthResult = { succeeded: true, authType: 'profile', data: { nickName: '小明', avatarUrl: 'https://a/x.png' } };
  /** What `promise` settled with so far (undefined: still pending), after the microtasks ran. */
  const settled = async <T>(promise: Promise<T>) => {
    let value: T | undefined;
    void promise.then((v) => (value = v));
    await new Promise((resolve) => setImmediate(resolve));
    return value;
  };

  it('keeps the waiting requests in order: the login page shows the oldest, and each gets its own answer', async () => {
    const hub = new UserAuthHub();
    const seen = jest.fn();
    hub.subscribe(seen);
    const first = hub.awaitResult(profile);
    const second = hub.awaitResult(phone);
    expect(hub.request).toBe(profile);
    expect(hub.pending).toEqual([profile, phone]);
    expect(hub.answer(phone, phoneAnswer)).toBe(true);
    expect(await settled(second.result)).toBe(phoneAnswer);
    expect(await settled(first.result)).toBeUndefined(); // the phone answer never reaches the profile request
    expect(hub.request).toBe(profile);
    expect(hub.answer(profile, profileAnswer)).toBe(true);
    expect(await settled(first.result)).toBe(profileAnswer);
    expect(hub.request).toBeNull();
    expect(seen.mock.calls).toEqual([[phoneAnswer]]); // subscribers still see answers (once, as before)
  });

  it('notify(result) answers the current request only (custom UIs that show userAuthHub.request)', async () => {
    const hub = new UserAuthHub();
    const first = hub.awaitResult(profile);
    const second = hub.awaitResult(phone);
    expect(hub.notify(profileAnswer)).toBe(1);
    expect(await settled(first.result)).toBe(profileAnswer);
    expect(await settled(second.result)).toBeUndefined();
    expect(hub.request).toBe(phone);
  });

  it('answers nothing for a request that was withdrawn (it moved to another page) or already answered', async () => {
    const hub = new UserAuthHub();
    const moved = hub.awaitResult(phone);
    moved.withdraw();
    expect(hub.isWaiting(phone)).toBe(false);
    expect(hub.answer(phone, phoneAnswer)).toBe(false);
    expect(await settled(moved.result)).toBeUndefined();
    expect(hub.request).toBeNull();
  });

  it("publish(result) tells the subscribers and resolves no waiting request (the AuthModal's own answers)", async () => {
    const hub = new UserAuthHub();
    const seen = jest.fn();
    hub.subscribe(seen);
    const waiting = hub.awaitResult(phone);
    expect(hub.publish(profileAnswer)).toBe(1);
    expect(seen).toHaveBeenCalledWith(profileAnswer);
    expect(await settled(waiting.result)).toBeUndefined();
    expect(hub.request).toBe(phone);
  });
});
