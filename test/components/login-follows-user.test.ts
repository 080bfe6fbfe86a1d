/**
 * Issue 29, item 8: a login waiting for the user follows the user, and an answer resolves only its request. The real
 * built kit (LoginKit, the default page UI, userAuthHub) with the real AuthModal and login page (miniprogram-simulate)
 * over the in-memory contract backend; the page stack is a plain array the test pushes pages onto, as navigation does.
 */
import path from 'path';
import type * as Kit from '../../index';
import type { AuthResult, LoginState } from '../../lib/types';
import type { PageLike, PageRuntime } from '../../hub/page-ui';
import { createFakeWx, FakeBackend } from '../helpers/fakes';
import simulate from 'miniprogram-simulate';
import { dist, fakeWx, text, type Mounted } from '../helpers/simulate';

// The in-memory wx answers with setImmediate, which jest's jsdom environment does not have.
const g = globalThis as unknown as { setImmediate?: (fn: () => void) => void };
if (!g.setImmediate) g.setImmediate = (fn) => setTimeout(fn, 0);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const built = require(path.join(dist, 'index')) as typeof Kit;
const LOGIN_PAGE = '/pages/login';

const loaded = new Map<string, string>();
const mounted: Mounted[] = [];
/**
 * Renders a built component, as the helper's `mount` does, but compiled from the package root: the AuthModal and the
 * login page are both an `index.wxml`, and WeChat's template compiler mixes the two up when each is compiled from its
 * own folder in one test file.
 */
function mount(relativePath: string): Mounted {
  let id = loaded.get(relativePath);
  if (!id) {
    id = simulate.load(path.join(dist, relativePath), relativePath.split('/')[1], { rootPath: dist });
    loaded.set(relativePath, id);
  }
  const component = simulate.render(id) as Mounted;
  component.attach(document.createElement('parent-wrapper'));
  mounted.push(component);
  return component;
}
afterEach(() => {
  for (const component of mounted.splice(0)) component.detach();
});

/** `login` as it is, observed: a test that fails before awaiting it must not leave a rejection nobody handles. */
const started = (login: Promise<LoginState>) => {
  login.catch(() => undefined);
  return login;
};

/** Waits (a bounded number of macrotasks, no clock) until `check()` holds. */
async function until(check: () => unknown, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error(`never happened: ${what}`);
}

/** A page of the stack; with `modal`, its `<auth-modal id="auth-modal">` is that mounted component. */
const pageWith = (route: string, modal?: Mounted): PageLike => ({
  route,
  selectComponent: (selector: string) => (modal && selector === '#auth-modal' ? modal.instance : null),
});

interface Listenable {
  addEventListener(name: string, listener: (event: { detail: AuthResult }) => void): void;
}
const shows = (modal: Mounted) => !!modal.querySelector('.lk-auth-modal');
const phoneAnswer = (ui: Mounted, code: string) =>
  ui.querySelector('.lk-auth__confirm')!.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:ok', code } });
const profileAnswer = (ui: Mounted, nickName: string) => {
  ui.querySelector('.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: 'https://cdn.test/a.png' } });
  ui.querySelector('.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName } } });
};

/** The page stack, a navigateTo that opens the real login page on top, and kits using the default page UI. */
function app() {
  const pages: PageLike[] = [];
  const loginPages: Mounted[] = [];
  const runtime: PageRuntime = {
    getCurrentPages: () => pages,
    navigateTo: jest.fn((options) => {
      expect(options.url).toBe(LOGIN_PAGE);
      loginPages.push(mount('pages/login/index'));
      pages.push({ route: 'pages/login' });
    }),
  };
  const handler = built.createPageUserAuthHandler({ runtime, loginPageUrl: LOGIN_PAGE });
  const kit = () => {
    const backend = new FakeBackend();
    const kit = new built.LoginKit();
    kit.config({ source: 'app', baseURL: 'https://api.test', wx: createFakeWx(backend).wx, userAuthHandler: handler });
    const asked = { shown: false }; // the funnel's uiShown: the login UI has the question
    kit.onStateChange((event) => event.type === 'uiShown' && (asked.shown = true));
    return { kit, backend, asked };
  };
  return { pages, loginPages, runtime, kit };
}

beforeEach(() => fakeWx.navigateBack.mockClear());

describe('a login waiting for the user follows the user to the page that needs it', () => {
  it("page A's modal is open, the user goes to page B which needs a login: B's modal asks, A's closes, both settle", async () => {
    const { pages, kit } = app();
    const { kit: login, backend } = kit();
    const modalA = mount('components/auth-modal/index');
    const modalB = mount('components/auth-modal/index');
    const fromA = jest.fn();
    (modalA as unknown as Listenable).addEventListener('result', (event) => fromA(event.detail));
    pages.push(pageWith('pages/a', modalA));
    const onA = started(login.login({ tips: { title: '登录后下单', authType: 'phone' } }));
    await until(() => shows(modalA), "A's modal opens");

    pages.push(pageWith('pages/b', modalB)); // navigateTo B: A stays in the stack, hidden
    const onB = started(login.login());
    expect(shows(modalB)).toBe(true);
    expect(text(modalB, '.lk-auth-modal__title')).toBe('登录后下单'); // the same question, where the user is
    expect(shows(modalA)).toBe(false);

    modalA.detach(); // A goes away (say, unloaded): the question moved, so it answers nothing
    phoneAnswer(modalB, 'phone-on-b');
    const [a, b] = await Promise.all<LoginState>([onA, onB]);
    expect(a.accessToken).toBe(b.accessToken);
    expect(backend.loginCalls[backend.loginCalls.length - 1]).toMatchObject({ mode: 'authorize', phoneCode: 'phone-on-b' });
    expect(fromA).not.toHaveBeenCalled();
  });

  it('page B has no modal: the question moves to the login page opened from B, and its answer settles both', async () => {
    const { pages, loginPages, runtime, kit } = app();
    const { kit: login, backend } = kit();
    const modalA = mount('components/auth-modal/index');
    pages.push(pageWith('pages/a', modalA));
    const onA = started(login.login({ tips: { title: '登录后下单', authType: 'phone' } }));
    await until(() => shows(modalA), "A's modal opens");

    pages.push(pageWith('pages/b'));
    const onB = started(login.login());
    expect(runtime.navigateTo).toHaveBeenCalledTimes(1);
    expect(shows(modalA)).toBe(false);
    const [loginPage] = loginPages;
    expect(text(loginPage, '.lk-login-page__title')).toBe('登录后下单');
    phoneAnswer(loginPage, 'phone-on-login-page');
    const [a, b] = await Promise.all<LoginState>([onA, onB]);
    expect(a.accessToken).toBe(b.accessToken);
    expect(backend.loginCalls[backend.loginCalls.length - 1]).toMatchObject({ phoneCode: 'phone-on-login-page' });
    expect(fakeWx.navigateBack).toHaveBeenCalledTimes(1);
  });

  it('a login joined on the page that shows its question stays there (nothing moves, nothing is asked twice)', async () => {
    const { pages, runtime, kit } = app();
    const { kit: login } = kit();
    const modalA = mount('components/auth-modal/index');
    pages.push(pageWith('pages/a', modalA));
    const first = started(login.login({ tips: { authType: 'phone' } }));
    await until(() => shows(modalA), "A's modal opens");
    const second = started(login.login());
    expect(shows(modalA)).toBe(true);
    expect(runtime.navigateTo).not.toHaveBeenCalled();
    phoneAnswer(modalA, 'once');
    expect((await first).accessToken).toBe((await second).accessToken);
  });
});

describe('a profile login and a phone login waiting together each get their own answer', () => {
  it("on one page's AuthModal", async () => {
    const { pages, kit } = app();
    const profile = kit();
    const phone = kit();
    const modal = mount('components/auth-modal/index');
    pages.push(pageWith('pages/a', modal));
    const onProfile = started(profile.kit.login({ tips: { title: '登录后评论', authType: 'profile' } }));
    await until(() => shows(modal), 'the modal opens');
    const onPhone = started(phone.kit.login({ tips: { title: '绑定手机号', authType: 'phone' } }));
    await until(() => phone.asked.shown, 'the phone login asks');
    expect(text(modal, '.lk-auth-modal__title')).toBe('登录后评论');
    profileAnswer(modal, '小红');
    await onProfile;
    await until(() => text(modal, '.lk-auth-modal__title') === '绑定手机号', 'the phone question is shown next');
    phoneAnswer(modal, 'phone-9');
    await onPhone;
    expect(profile.backend.loginCalls[1]).toMatchObject({ profile: { nickName: '小红' } });
    expect(profile.backend.loginCalls[1]).not.toHaveProperty('phoneCode');
    expect(phone.backend.loginCalls[1]).toMatchObject({ phoneCode: 'phone-9' });
    expect(phone.backend.loginCalls[1]).not.toHaveProperty('profile');
  });

  it('on the login page', async () => {
    const { pages, loginPages, runtime, kit } = app();
    const profile = kit();
    const phone = kit();
    pages.push(pageWith('pages/a'));
    const onProfile = started(profile.kit.login({ tips: { title: '登录后评论', authType: 'profile' } }));
    await until(() => loginPages.length === 1, 'the login page opens');
    const onPhone = started(phone.kit.login({ tips: { title: '绑定手机号', authType: 'phone' } }));
    await until(() => phone.asked.shown, 'the phone login waits too');
    expect(runtime.navigateTo).toHaveBeenCalledTimes(1); // never a second login page on the first
    const [loginPage] = loginPages;
    expect(text(loginPage, '.lk-login-page__title')).toBe('登录后评论');
    profileAnswer(loginPage, '小红');
    await onProfile;
    expect(text(loginPage, '.lk-login-page__title')).toBe('绑定手机号');
    expect(fakeWx.navigateBack).not.toHaveBeenCalled();
    phoneAnswer(loginPage, 'phone-9');
    await onPhone;
    expect(profile.backend.loginCalls[1]).toMatchObject({ profile: { nickName: '小红' } });
    expect(phone.backend.loginCalls[1]).toMatchObject({ phoneCode: 'phone-9' });
    expect(phone.backend.loginCalls[1]).not.toHaveProperty('profile');
    expect(fakeWx.navigateBack).toHaveBeenCalledTimes(1);
  });
});
