/**
 * `npm run screenshots`: renders the *built* AuthModal and login page (miniprogram_dist/) through miniprogram-simulate's
 * DOM, then photographs each state in headless Chromium (Debian's `chromium`, driven by playwright-core) into
 * docs/images/*.png for the READMEs: every auth type, the privacy step, light and dark, and one custom theme.
 * Needs `apt-get install chromium fonts-noto-cjk` (not part of the test gate). rpx are converted at a 375 px screen.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the built kit and miniprogram-simulate are loaded by path, at run time */
import '../emulator/dom';
import fs from 'fs';
import path from 'path';
import { chromium } from 'playwright-core';

const root = path.resolve(__dirname, '../..');
const dist = path.join(root, 'miniprogram_dist');
const out = path.join(root, 'docs/images');

interface Shot {
  name: string;
  ui: 'components/auth-modal' | 'pages/login';
  tips?: Record<string, unknown>;
  privacy?: boolean;
  theme?: 'light' | 'dark' | 'custom';
}

const SHOTS: Shot[] = [
  {
    name: 'auth-modal-profile',
    ui: 'components/auth-modal',
    tips: { title: '登录后评论', content: '设置头像和昵称，评论时展示给其他用户' },
  },
  {
    name: 'auth-modal-profile-dark',
    ui: 'components/auth-modal',
    tips: { title: '登录后评论', content: '设置头像和昵称，评论时展示给其他用户' },
    theme: 'dark',
  },
  {
    name: 'auth-modal-phone',
    ui: 'components/auth-modal',
    tips: { authType: 'phone', title: '绑定手机号', content: '用微信绑定的手机号登录', confirmText: '微信手机号快捷登录' },
  },
  { name: 'auth-modal-userinfo', ui: 'components/auth-modal', tips: { authType: 'userInfo' } },
  { name: 'auth-modal-privacy', ui: 'components/auth-modal', tips: { authType: 'phone', title: '绑定手机号' }, privacy: true },
  {
    name: 'auth-modal-privacy-dark',
    ui: 'components/auth-modal',
    tips: { authType: 'phone', title: '绑定手机号' },
    privacy: true,
    theme: 'dark',
  },
  { name: 'auth-modal-themed', ui: 'components/auth-modal', tips: { authType: 'userInfo', title: '欢迎回来' }, theme: 'custom' },
  { name: 'login-page-profile', ui: 'pages/login', tips: { title: '登录后收藏' } },
  { name: 'login-page-profile-dark', ui: 'pages/login', tips: { title: '登录后收藏' }, theme: 'dark' },
  { name: 'login-page-privacy', ui: 'pages/login', privacy: true },
];

const THEMES: Record<string, string> = {
  light: 'body { background: #f5f5f5; }',
  // Dark: the page renders with prefers-color-scheme: dark (WeChat's dark mode); the kit's own colours come from its
  // stylesheet's dark rule. Only what WeChat itself draws (the page behind, the built-in button) is styled here.
  dark:
    'body { background: #111; color: #ddd; } wx-button { background: #2c2c2c; color: #eee; border-color: #444; }' +
    ' .page-behind { background: #111; color: #888; } .page-behind .nav { background: #1f1f1f; color: #ddd; }',
  custom:
    'body { background: #f5f5f5; } .host { --lk-primary: #1989fa; --lk-radius: 8rpx; --lk-button-radius: 8rpx; --lk-modal-width: 640rpx; }',
};

/** WeChat's look for the built-in elements the UI uses (what miniprogram-simulate leaves unstyled). */
const BASE_CSS = `
* { box-sizing: border-box; }
body { margin: 0; font-family: -apple-system, "Noto Sans CJK SC", "PingFang SC", sans-serif; font-size: 16px; }
wx-view, wx-form { display: block; }
wx-text { display: inline; }
wx-button { display: block; position: relative; margin: 0 auto; padding: 0 14px; width: 100%; font-size: 17px; font-weight: 600;
  line-height: 2.6; text-align: center; border-radius: 5px; background: #f2f2f2; color: #000; border: 1px solid rgba(0,0,0,.12); }
wx-input { display: block; height: 44px; line-height: 44px; color: #999; }
wx-input::before { content: attr(data-placeholder); }
wx-image { display: block; }
.page-behind { padding: 24px 20px; color: #333; }
.page-behind .nav { margin: -24px -20px 20px; padding: 14px; text-align: center; font-weight: 600; background: #fff; }
.page-behind .line { height: 12px; margin: 14px 0; border-radius: 6px; background: rgba(128,128,128,.25); }
`;

const rpx = (css: string) => css.replace(/(-?\d*\.?\d+)rpx/g, (_, n: string) => `${(Number(n) / 2).toFixed(1)}px`);

/** The listener the kit registered with `wx.onNeedPrivacyAuthorization` (miniprogram-simulate later swaps the global `wx`). */
const privacy: { listener?: (resolve: () => void, info: object) => void } = {};

type Rendered = { dom: Element; instance: Record<string, (...args: unknown[]) => unknown>; attach(parent: Element): void };

async function render(shot: Shot, simulate: typeof import('miniprogram-simulate'), ids: Map<string, string>): Promise<string> {
  let id = ids.get(shot.ui);
  if (!id) {
    id = simulate.load(path.join(dist, shot.ui, 'index'), { rootPath: dist }); // one root: wcc's output is cached per root
    ids.set(shot.ui, id);
  }
  const hub = require(path.join(dist, 'index'));
  const { DEFAULT_AUTH_TIPS } = require(path.join(dist, 'index'));
  hub.userAuthHub.request = shot.ui === 'pages/login' ? { tips: { ...DEFAULT_AUTH_TIPS, ...shot.tips } } : null;
  const component = simulate.render(id) as unknown as Rendered;
  component.attach(document.createElement('div'));
  if (shot.ui === 'components/auth-modal') void component.instance.open(shot.tips);
  if (shot.privacy) privacy.listener?.(() => undefined, { referrer: 'button.getPhoneNumber' });
  await simulate.sleep(0);
  const placeholder = String(shot.tips?.nicknamePlaceholder ?? DEFAULT_AUTH_TIPS.nicknamePlaceholder);
  return component.dom.outerHTML
    .replace(/class="main--/g, 'class="')
    .replace(/ main--/g, ' ')
    .replace(/<wx-input class="lk-auth__nickname"/g, `<wx-input class="lk-auth__nickname" data-placeholder="${placeholder}"`);
}

async function main() {
  // The privacy listener the kit registers, kept so a shot can trigger the agreement step.
  const fakeWx: Record<string, unknown> = {
    onNeedPrivacyAuthorization: (listener: typeof privacy.listener) => (privacy.listener = listener),
    getPrivacySetting: (o: { success: (s: object) => void }) =>
      o.success({ needAuthorization: true, privacyContractName: '《示例小程序隐私保护指引》' }),
  };
  (globalThis as Record<string, unknown>).wx = fakeWx;
  const simulate: typeof import('miniprogram-simulate') = require('miniprogram-simulate');
  // The privacy shots show the kit's own agreement step, which an app opts into with privacy: 'kit'.
  require(path.join(dist, 'index')).privacyRouter.configure('kit', () => undefined, fakeWx);
  const ids = new Map<string, string>();
  const css = (ui: string) => rpx(fs.readFileSync(path.join(dist, ui, 'index.wxss'), 'utf8'));
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 375, height: 667 }, deviceScaleFactor: 2 });
  for (const shot of SHOTS) {
    const html = await render(shot, simulate, ids);
    const behind =
      shot.ui === 'components/auth-modal'
        ? '<div class="page-behind"><div class="nav">首页</div><h3>今天的推荐</h3>' + '<div class="line"></div>'.repeat(12) + '</div>'
        : '';
    await page.emulateMedia({ colorScheme: shot.theme === 'dark' ? 'dark' : 'light' });
    await page.setContent(
      `<!doctype html><html><head><meta charset="utf-8"><style>${BASE_CSS}${css(shot.ui)}${rpx(THEMES[shot.theme ?? 'light'])}</style></head>` +
        `<body><div class="host">${behind}${html}</div></body></html>`,
    );
    await page.screenshot({ path: path.join(out, `${shot.name}.png`) });
    console.log(`docs/images/${shot.name}.png`);
  }
  await browser.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
