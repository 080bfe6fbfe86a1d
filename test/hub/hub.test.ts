import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import { Hub, UserAuthHub } from '../../hub/index';
import { cancelledResult } from '../../components/common/auth-events';

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
