/** The package as a user's app gets it: the built entry and files, required like a dependency. */
import fs from 'fs';
import { parse } from 'acorn';
import { simple } from 'acorn-walk';
import path from 'path';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kit = require(root) as typeof import('../../index');

describe('the published entry', () => {
  it('is what package.json main, types and miniprogram point at', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(require(path.join(root, pkg.main))).toBe(kit);
    expect(fs.existsSync(path.join(root, pkg.types))).toBe(true);
    expect(pkg.main.startsWith(pkg.miniprogram + '/')).toBe(true);
  });

  it('exports the default instance, the factory, the hub and the error helpers', () => {
    expect(kit.Login).toBeInstanceOf(kit.LoginKit);
    expect(kit.createLogin()).not.toBe(kit.Login);
    expect(typeof kit.userAuthHub.subscribe).toBe('function');
    const error = new kit.LoginError('TIMEOUT', 'x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('LoginError');
    expect(kit.isLoginError(error)).toBe(true);
    expect(kit.isLoginError({ name: 'LoginError', code: 'TIMEOUT' })).toBe(true);
    expect(kit.isLoginError(new Error('x'))).toBe(false);
  });

  it('rejects NOT_CONFIGURED from the default instance before config', async () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(kit.Login.login()).rejects.toMatchObject({ name: 'LoginError', code: 'NOT_CONFIGURED' });
    spy.mockRestore();
  });

  it('ships each component and the login page as js + json + wxml + wxss', () => {
    for (const dir of ['components/auth-modal', 'pages/login']) {
      for (const ext of ['js', 'json', 'wxml', 'wxss']) {
        expect(fs.existsSync(path.join(root, pkg.miniprogram, dir, `index.${ext}`))).toBe(true);
      }
    }
  });

  it('is ES2015: every built JavaScript file parses as ECMAScript 2015, with no array rest pattern', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.js')) files.push(full);
      }
    };
    walk(path.join(root, pkg.miniprogram));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const code = fs.readFileSync(file, 'utf8');
      // async functions, `**`, object spread and later syntax fail here: the base libraries below 2.14.4 lack them.
      expect(() => parse(code, { ecmaVersion: 2015, sourceType: 'script' })).not.toThrow();
      // `[a, ...rest] = x`: Safari 10-13 (iOS 11-13 WeChat) gives a `rest` that is not an array.
      const rests: string[] = [];
      simple(parse(code, { ecmaVersion: 2015, sourceType: 'script' }), {
        ArrayPattern(node) {
          if ((node as unknown as { elements: Array<{ type: string } | null> }).elements.some((e) => e?.type === 'RestElement'))
            rests.push(`${path.relative(root, file)}:${node.start}`);
        },
      });
      expect(rests).toEqual([]);
    }
  });
});
