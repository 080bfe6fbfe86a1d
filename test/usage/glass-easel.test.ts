/**
 * The built AuthModal and login page under glass-easel — WeChat's own component framework (it backs Skyline pages) —
 * beside the miniprogram-simulate tests: its template compiler compiles our WXML, its adapter runs our classic
 * `Component()`/`Behavior()` code, and its DOM backend renders into jsdom. WeChat's built-in components (`button` and
 * its open-types, `form`, `input`) are not in the open-source packages: the test dispatches their events, as WeChat
 * would. Why `bind:tap`: glass-easel's template compiler (0.12) reads only the colon form of event bindings — `bindtap`
 * stays a plain attribute and binds nothing — so the kit's WXML uses `bind:tap`, which WeChat's own compiler accepts too.
 */
import 'global-jsdom/register';
import fs from 'fs';
import path from 'path';
import * as glassEasel from 'glass-easel';
import { MiniProgramEnv } from 'glass-easel-miniprogram-adapter';
import { TmplGroup } from 'glass-easel-template-compiler';
import type { AuthResult, AuthTips } from '../../lib/types';
import { SHARED_KEY } from '../../hub/shared';

const dist = path.resolve(__dirname, '../../miniprogram_dist');

/** Compiles WXML with glass-easel's template compiler. */
function template(wxml: string) {
  const group = new TmplGroup();
  group.addTmpl('', wxml);
  const generated = new Function(`return ${group.getTmplGenObjectGroups()}`)() as Record<string, unknown>;
  group.free();
  return { groupList: generated, content: generated[''] } as never;
}

type Hub = typeof import('../../hub/index');
type Privacy = typeof import('../../hub/privacy');

interface Mounted {
  root: glassEasel.GeneralComponent;
  caller: Record<string, (...args: unknown[]) => unknown>;
  html(): string;
  find(selector: string): glassEasel.Element | null;
  /** Dispatches what WeChat's built-in component would (a tap, `getphonenumber`, a form's `submit`...). */
  fire(selector: string, event: string, detail?: unknown): void;
  hub: Hub;
  privacy: Privacy;
}

/** Loads one built component (`ui`: `components/auth-modal` or `pages/login`) into a fresh glass-easel env. */
function mount(ui: string, wx: Record<string, unknown> = {}, beforeAttach?: (hub: Hub) => void): Mounted {
  const env = new MiniProgramEnv();
  const space = env.createCodeSpace('', true);
  space.addComponentStaticConfig(ui, { component: true });
  space.addCompiledTemplate(ui, template(fs.readFileSync(path.join(dist, ui, 'index.wxml'), 'utf8')));
  let hub!: Hub;
  let privacy!: Privacy;
  space.componentEnv(ui, ({ Component, Behavior }) => {
    const g = globalThis as Record<string, unknown>;
    Object.assign(g, { Component, Behavior, wx: { navigateBack: jest.fn(), ...wx } });
    delete g[SHARED_KEY]; // each mount is a new app: the kit's shared instances start afresh
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(path.join(dist, ui, 'index.js'));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      hub = require(path.join(dist, 'index'));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      privacy = require(path.join(dist, 'index'));
    });
  });
  if (beforeAttach) beforeAttach(hub);
  const created = env.associateBackend(new glassEasel.CurrentWindowBackendContext()).createRoot('body', space, ui);
  // Attached to the document, as a page or a component in a page is: its `attached` lifetime runs.
  const placeholder = document.createElement('span');
  document.body.appendChild(placeholder);
  created.attach(document.body as never, placeholder as never);
  const root = created.getComponent();
  const shadow = () => root.getShadowRoot()!;
  const find = (selector: string) => shadow().querySelector(selector);
  return {
    root,
    caller: root.getMethodCaller() as unknown as Mounted['caller'],
    html: () => (root.getBackendElement() as unknown as Element).innerHTML,
    find,
    fire(selector, event, detail = {}) {
      const target = find(selector);
      if (!target) throw new Error(`nothing matches ${selector}`);
      target.triggerEvent(event, detail, { bubbles: true, composed: true });
    },
    hub,
    privacy,
  };
}

const text = (m: Mounted, selector: string) => {
  const element = m.find(selector);
  return element ? ((element.getBackendElement() as unknown as Element).textContent ?? '').trim() : null;
};
const open = (m: Mounted, tips: Partial<AuthTips>) => m.caller.open(tips) as Promise<AuthResult>;
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the AuthModal under glass-easel', () => {
  it('opens with the tips, and a tap on cancel resolves a cancel, published on the hub', async () => {
    const modal = mount('components/auth-modal');
    const onHub = jest.fn();
    modal.hub.userAuthHub.subscribe(onHub);
    const answer = open(modal, { title: '登录后评论', authType: 'userInfo' });
    await tick();
    expect(text(modal, '.lk-auth-modal__title')).toBe('登录后评论');
    modal.fire('.lk-auth__cancel', 'tap');
    const result = await answer;
    expect(result).toMatchObject({ succeeded: false, authType: 'userInfo', errMsg: expect.stringMatching(/cancel/) });
    expect(onHub).toHaveBeenCalledWith(result);
    await tick();
    expect(modal.find('.lk-auth-modal__panel')).toBeNull(); // closed
  });

  it('submits the profile form with the chosen avatar and the nickname', async () => {
    const modal = mount('components/auth-modal', { requirePrivacyAuthorize: (o: { success?(): void }) => o.success && o.success() });
    const answer = open(modal, { authType: 'profile' });
    await tick();
    expect(text(modal, '.lk-auth__avatar-hint')).toBe('点击选择头像');
    modal.fire('.lk-auth__avatar', 'chooseavatar', { avatarUrl: 'http://tmp/a.png' });
    await tick();
    modal.fire('.lk-auth__profile', 'submit', { value: { nickName: '小明' } });
    expect(await answer).toEqual({
      succeeded: true,
      authType: 'profile',
      errMsg: 'profile:ok',
      data: { nickName: '小明', avatarUrl: 'http://tmp/a.png' },
    });
  });

  it('resolves the phone code of the getPhoneNumber button', async () => {
    const modal = mount('components/auth-modal');
    const answer = open(modal, { authType: 'phone' });
    await tick();
    modal.fire('.lk-auth__confirm', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: 'p-1' });
    expect(await answer).toMatchObject({ succeeded: true, authType: 'phone', data: { code: 'p-1' } });
  });

  it("shows the opt-in privacy step (privacy: 'kit'), keeps the asking button, and agree resolves with the button id", async () => {
    let listener!: (resolve: (o: object) => void, info: object) => void;
    const modal = mount('components/auth-modal', { onNeedPrivacyAuthorization: (l: typeof listener) => (listener = l) });
    modal.privacy.privacyRouter.configure('kit', () => undefined);
    const answer = open(modal, { authType: 'phone' });
    await tick();
    const resolve = jest.fn();
    listener(resolve, { referrer: 'button.getPhoneNumber' });
    await tick();
    expect(modal.find('#lk-agree-privacy')).not.toBeNull();
    expect(modal.html()).toContain('getPhoneNumber'); // the asking button is still there, hidden
    modal.fire('#lk-agree-privacy', 'agreeprivacyauthorization');
    expect(resolve.mock.calls).toEqual([[{ event: 'exposureAuthorization' }], [{ event: 'agree', buttonId: 'lk-agree-privacy' }]]);
    modal.fire('.lk-auth__actions .lk-auth__confirm', 'getphonenumber', { errMsg: 'getPhoneNumber:ok', code: 'p-2' });
    expect(await answer).toMatchObject({ succeeded: true, data: { code: 'p-2' } });
  });
});

describe('the login page under glass-easel', () => {
  it('shows the tips of the waiting login and publishes the user’s answer', async () => {
    const onHub = jest.fn();
    // The request is set before the page attaches, as the default page UI does before it navigates.
    const page = mount('pages/login', {}, (hub) => {
      hub.userAuthHub.request = { tips: { title: '登录后收藏', authType: 'userInfo' } as AuthTips };
      hub.userAuthHub.subscribe(onHub);
    });
    expect(page.html()).toContain('登录后收藏');
    page.fire('.lk-auth__cancel', 'tap');
    expect(onHub).toHaveBeenCalledWith(expect.objectContaining({ succeeded: false, errMsg: expect.stringMatching(/cancel/) }));
  });
});
