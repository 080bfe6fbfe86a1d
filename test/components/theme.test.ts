/** The UI says what it does, and everything the README calls themable really is a CSS variable (issue 14). */
import fs from 'fs';
import path from 'path';
import { mount, text } from '../helpers/simulate';

const dist = path.resolve(__dirname, '../../miniprogram_dist');
const stylesheets = ['components/auth-modal/index.wxss', 'pages/login/index.wxss'];

it('has no colour outside a --lk-* variable: each literal is a fallback or a dark-mode default', () => {
  for (const sheet of stylesheets) {
    const css = fs.readFileSync(path.join(dist, sheet), 'utf8');
    const outside = css
      .replace(/var\(--lk-[a-z-]+,\s*(var\(--lk-[a-z-]+,\s*)?[^()]*(\([^()]*\))?[^()]*\)?\)/g, '') // fallbacks
      .replace(/--lk-default-[a-z-]+:\s*[^;]+;/g, ''); // the dark defaults
    expect({ sheet, colours: outside.match(/#[0-9a-f]{3,8}\b|rgba?\(/gi) ?? [] }).toEqual({ sheet, colours: [] });
  }
});

it('follows WeChat dark mode through prefers-color-scheme, not variables set by hand', () => {
  const css = fs.readFileSync(path.join(dist, stylesheets[0]), 'utf8');
  expect(css).toMatch(/@media \(prefers-color-scheme: dark\)\s*{\s*\.lk-auth-modal\s*{[^}]*--lk-default-background/);
});

it('shows a default avatar with a "点击选择头像" hint and an aria-label until one is chosen; the form submits with "保存并登录"', async () => {
  const modal = mount('components/auth-modal/index');
  void (modal.instance as unknown as { open(tips: object): Promise<unknown> }).open({ authType: 'profile' });
  const avatar = modal.querySelector('.lk-auth__avatar')!;
  // j-component does not reflect attributes of built-in components: the template and the data say it.
  const wxml = fs.readFileSync(path.join(dist, 'components/auth-modal/index.wxml'), 'utf8');
  expect(wxml).toContain('aria-label="{{tips.avatarHint}}"');
  expect(wxml).toContain('src="{{profile.avatarUrl || defaultAvatar}}"');
  expect((modal.instance as unknown as { data: { defaultAvatar: string } }).data.defaultAvatar).toMatch(/^data:image\/svg\+xml;base64,/);
  expect(text(modal, '.lk-auth__avatar-hint')).toBe('点击选择头像');
  expect(text(modal, '.lk-auth__confirm')).toBe('保存并登录');
  avatar.dispatchEvent('chooseavatar', { detail: { avatarUrl: 'http://tmp/a.png' } });
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(modal.querySelector('.lk-auth__avatar-hint')).toBeFalsy();
});
