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

describe('the README cannot drift from the code', () => {
  /** The rows of the markdown table that follows `heading` in the English README: each row's cells. */
  const table = (heading: string) => {
    const section = read('README.md').split(`\n## ${heading}\n`)[1].split('\n## ')[0];
    return section
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| ---') && !/^\| (code|option) \|/.test(line))
      .map((line) => line.slice(2, -2).split(' | '));
  };
  const quoted = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map(([, name]) => name);

  it('the error table lists exactly the codes of LoginErrorCode, and the Chinese README names each', () => {
    const union = read('lib/errors.ts').split('export type LoginErrorCode =')[1].split(';')[0];
    const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map(([, code]) => code);
    expect(codes.length).toBeGreaterThan(10);
    expect(table('Errors').map(([code]) => quoted(code)[0])).toEqual(codes);
    const zh = read('README.zh-CN.md').split('\n## 错误\n')[1].split('\n## ')[0];
    for (const code of codes) expect(zh).toContain(`\`${code}\``);
  });

  it('the configuration table lists exactly the options config() accepts, with the defaults resolveOptions fills in and their units', async () => {
    const { resolveOptions } = await import('../../lib/options');
    const { Limiter } = await import('../../lib/limiter');
    const keys = read('lib/options.ts').split('const OPTION_KEYS')[1].split('];')[0];
    const options = [...keys.matchAll(/'([a-zA-Z]+)'/g)].map(([, key]) => key);
    const rows = table('Configuration');
    expect(rows.flatMap(([names]) => quoted(names)).sort()).toEqual([...options].sort());
    const limiters = { request: new Limiter(1), uploadFile: new Limiter(1), downloadFile: new Limiter(1) };
    const wx = { login() {}, request() {}, getStorageSync() {}, setStorageSync() {}, removeStorageSync() {} };
    const resolved = resolveOptions({ source: 'app', baseURL: 'https://api.test', wx }, limiters);
    const row = (name: string) => rows.find(([names]) => quoted(names).includes(name))!;
    const numbers = (cell: string) => [...cell.replace(/(\d)\s(\d)/g, '$1$2').matchAll(/\d+/g)].map(([n]) => Number(n));
    const { wxLogin, request, userAuth, backend } = resolved.timeouts;
    expect(numbers(row('timeouts')[2])).toEqual([wxLogin, request, userAuth, backend]);
    expect(numbers(row('backoff')[2])).toEqual([resolved.backoff.retries, resolved.backoff.baseDelayMs, resolved.backoff.maxDelayMs]);
    expect(numbers(row('maxReplays')[2])).toEqual([resolved.maxReplays]);
    expect(numbers(row('expiryLeewayMs')[2])).toEqual([resolved.expiryLeewayMs]);
    expect(numbers(row('maxConcurrentRequests')[2])).toEqual([resolved.maxConcurrentRequests]);
    expect(row('storageKey')[2]).toContain(resolved.storageKey);
    // Every option in milliseconds says so.
    for (const name of ['timeouts', 'backoff', 'expiryLeewayMs']) expect(row(name).join(' ')).toMatch(/\bms\b/);
  });

  it('documents every onStateChange event, in the README and in the method’s docstring', () => {
    const union = read('lib/types.ts').split('export type LoginEvent =')[1].split(';\n')[0];
    const events = [...union.matchAll(/type: '([a-zA-Z]+)'/g)].map(([, type]) => type);
    expect(events.length).toBeGreaterThanOrEqual(10);
    const readme = read('README.md').split('Events for observability')[1].split('\n\n')[0];
    const docstring = read('lib/login-kit.ts').split('onStateChange(listener')[0].split('/**').pop()!;
    expect(events.filter((type) => !readme.includes(`\`${type}\``))).toEqual([]);
    expect(events.filter((type) => !docstring.includes(`\`${type}\``))).toEqual([]);
  });

  it('the CHANGELOG names one minimum base library and one contract version: the code’s and the contract’s', () => {
    const changelog = read('CHANGELOG.md').split('\n## [')[1]; // the newest section
    const { MIN_BASE_LIBRARY } = jest.requireActual('../../lib/base-library') as { MIN_BASE_LIBRARY: string };
    const minimums = [...changelog.matchAll(/minimum(?: base library)?(?: is)? \(?(\d+\.\d+\.\d+)/g)].map(([, v]) => v);
    expect(minimums.length).toBeGreaterThan(0);
    expect(new Set(minimums)).toEqual(new Set([MIN_BASE_LIBRARY]));
    const contract = /^# The backend contract — version (\d+\.\d+)/m.exec(read('docs/contract.md'))![1];
    const versions = [...changelog.matchAll(/`docs\/contract\.md`.{0,60}?version (\d+\.\d+)/g)].map(([, v]) => v);
    expect(versions).toEqual([contract]);
  });
});
