/**
 * A TypeScript project that installs the package finds every entry's types under each `moduleResolution` a team
 * uses: `node` (Taro 4's template: it ignores `exports`, so `typesVersions` maps the subpaths), `node16` and `bundler`.
 * The package comes from `npm pack`, laid out as `npm install <tarball>` does; the consumer is compiled by tsc.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { packKit } from '../helpers/pack';

const root = path.resolve(__dirname, '../..');
let app: string;

beforeAll(() => {
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-ts-consumer-'));
  const packed = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-pack-'));
  const tarball = packKit(packed);
  const installed = path.join(app, 'node_modules/miniprogram-login-kit');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  // What a mini-program project has beside it: WeChat's API typings (with `lib` es2017: no DOM, as in WeChat's templates).
  fs.symlinkSync(path.join(root, 'node_modules/miniprogram-api-typings'), path.join(app, 'node_modules/miniprogram-api-typings'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  fs.writeFileSync(
    path.join(app, 'app.ts'),
    [
      "import { Login, type LoginState } from 'miniprogram-login-kit';",
      "import { LoginKit } from 'miniprogram-login-kit/lib';",
      "import { taroLoginInterceptor, uniLoginInterceptor } from 'miniprogram-login-kit/adapters';",
      "import { loginKitUni } from 'miniprogram-login-kit/vite';",
      'export const state: LoginState | null = Login.getState();',
      'export const kit: LoginKit = new LoginKit();',
      'export const interceptors = [taroLoginInterceptor(Login), uniLoginInterceptor(Login)];',
      'export const plugin = loginKitUni();',
      '',
    ].join('\n'),
  );
}, 120_000);

it.each([
  ['node', 'commonjs'],
  ['node16', 'node16'],
  ['bundler', 'esnext'],
])('type-checks the entry and every subpath under moduleResolution %s', (moduleResolution, module) => {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const args = [
    '--noEmit',
    '--strict',
    '--lib',
    'es2017',
    '--moduleResolution',
    moduleResolution,
    '--module',
    module,
    '--target',
    'es2017',
  ];
  const run = () =>
    execFileSync(process.execPath, [tsc, ...args, '--types', 'miniprogram-api-typings', 'app.ts'], {
      cwd: app,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  expect(run).not.toThrow();
});
