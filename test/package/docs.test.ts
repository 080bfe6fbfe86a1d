/** The documents a user reads stay in step: the Chinese README with the English one, the theme table with the theme. */
import fs from 'fs';
import path from 'path';

const root = path.resolve(__dirname, '../..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
const headings = (text: string, level: string) => text.split('\n').filter((line) => line.startsWith(`${level} `)).length;

it('README.zh-CN.md has the English README’s sections, in the same number at each level', () => {
  const en = read('README.md');
  const zh = read('README.zh-CN.md');
  expect(headings(zh, '##')).toBe(headings(en, '##'));
  expect(headings(zh, '###')).toBe(headings(en, '###'));
  expect(zh).toContain('README.md');
  expect(en).toContain('README.zh-CN.md');
});

it('the README’s CSS-variable table lists every variable of the theme with its default', () => {
  const theme = read('components/common/theme.less');
  // `@lk-x: var(--lk-x, #fff);` or `@lk-x: var(--lk-x, var(--lk-default-x, #fff));`: the name and the light default.
  const fromTheme = [...theme.matchAll(/^@lk-[a-z-]+: (.*);$/gm)].map(([, expression]) => {
    const vars = expression.match(/var\(/g)!.length;
    const name = /var\((--lk-[a-z-]+)/.exec(expression)![1];
    return [name, expression.replace(/var\(--lk-[a-z-]+, /g, '').slice(0, -vars)];
  });
  const section = read('README.md').split('<!-- css-variables -->')[1].split('<!-- /css-variables -->')[0];
  const fromReadme = [...section.matchAll(/^\s*\| `(--lk-[a-z-]+)` \| `([^`]+)` \|/gm)].map(([, name, value]) => [name, value]);
  expect(fromReadme).toEqual(fromTheme);
  for (const [name, value] of fromTheme) expect(read('README.zh-CN.md')).toContain(`| \`${name}\` | \`${value}\` |`);
});
