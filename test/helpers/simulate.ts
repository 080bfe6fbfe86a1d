/** Loads the built components (miniprogram_dist/) into miniprogram-simulate, as a user's app would get them. */
import path from 'path';
import simulate, { type RootComponent } from 'miniprogram-simulate';
import type * as Hub from '../../hub/index';

export const dist = path.resolve(__dirname, '../../miniprogram_dist');

/**
 * The `wx` the built components see: navigation and the privacy APIs of base library >= 2.32.3, as jest mocks.
 * `privacyListener()` is what the kit registered with `wx.onNeedPrivacyAuthorization`.
 */
export const fakeWx = {
  navigateBack: jest.fn(),
  onNeedPrivacyAuthorization: jest.fn(),
  getPrivacySetting: jest.fn((options: { success?: (s: { needAuthorization: boolean; privacyContractName: string }) => void }) =>
    options.success?.({ needAuthorization: true, privacyContractName: '《演示隐私保护指引》' }),
  ),
  openPrivacyContract: jest.fn(),
  /** WeChat's official popup; the user agrees unless a test says otherwise. */
  requirePrivacyAuthorize: jest.fn((options: { success?: () => void; fail?: (error: { errMsg: string }) => void }) => options.success?.()),
};
(globalThis as unknown as { wx: typeof fakeWx }).wx = fakeWx;

/** The listener the kit registered with `wx.onNeedPrivacyAuthorization` (after a component attached). */
export function privacyListener(): (resolve: (option: object) => void, eventInfo: { referrer: string }) => void {
  const calls = fakeWx.onNeedPrivacyAuthorization.mock.calls;
  if (!calls.length) throw new Error('the kit registered no privacy listener');
  return calls[calls.length - 1][0];
}

/**
 * Switches the built components' privacy router to `mode` (`'kit'` registers the kit's listener, as
 * `Login.config({privacy: 'kit', privacyAppHandler})` does). Returns the app's handler (a jest mock).
 */
export function usePrivacyMode(mode: 'official' | 'kit'): jest.Mock {
  const appHandler = jest.fn();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { privacyRouter } = require(path.join(dist, 'index')) as typeof import('../../hub/privacy');
  privacyRouter.configure(mode, appHandler);
  return appHandler;
}

/** The built package entry, whose userAuthHub the built components use (one instance per test file). */
export function builtHub(): typeof Hub {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(dist, 'index'));
}

const loaded = new Map<string, string>();

/**
 * Renders a built component and attaches it to the document. Each component is loaded once per test file:
 * miniprogram-simulate runs the component's JS with `require`, which jest caches.
 */
export function mount(relativePath: string): Mounted {
  let id = loaded.get(relativePath);
  if (!id) {
    id = simulate.load(path.join(dist, relativePath));
    loaded.set(relativePath, id);
  }
  const component = simulate.render(id) as Mounted;
  component.attach(document.createElement('parent-wrapper'));
  mounted.push(component);
  return component;
}

const mounted: Mounted[] = [];

/** Detaches what the test mounted, so no component outlives its test (a late detach would publish a cancel). */
afterEach(() => {
  for (const component of mounted.splice(0)) component.detach();
});

/** A rendered component (j-component's root wrapper). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Mounted = RootComponent<any, any, any>;

/** Text of the first element matching `selector`, or null when it is not rendered. */
export function text(component: Mounted, selector: string): string | null {
  const found = component.querySelector(selector);
  return found ? (found.dom as HTMLElement).textContent!.trim() : null;
}

export const okUserInfo = {
  errMsg: 'getUserInfo:ok',
  userInfo: { nickName: '微信用户', avatarUrl: 'https://thirdwx.qlogo.cn/grey' },
  rawData: '{"nickName":"微信用户"}',
  signature: 'abc',
  encryptedData: 'ENC',
  iv: 'IV',
};
