/** The shipped ES5 build carries each of TypeScript's helpers once (scripts/build.js `shareHelpers`), and still loads. */
import fs from 'fs';
import path from 'path';

const dist = path.resolve(__dirname, '../../miniprogram_dist');
const jsFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });

it('defines __awaiter, __generator and __assign in one file only, which every other file requires', () => {
  for (const helper of ['__awaiter', '__generator', '__assign']) {
    const defining = jsFiles(dist).filter((file) =>
      fs.readFileSync(file, 'utf8').includes(`var ${helper} = (this && this.${helper}) || function`),
    );
    expect(defining.map((file) => path.relative(dist, file))).toEqual(['_helpers.js']);
  }
  const loginKit = fs.readFileSync(path.join(dist, 'lib/login-kit.js'), 'utf8');
  expect(loginKit).toContain('var __awaiter = require("../_helpers").__awaiter;');
});

it('still loads as a mini-program loads it: the entry, the core and the adapters', () => {
  /* eslint-disable @typescript-eslint/no-require-imports */
  expect(typeof require(path.join(dist, 'index.js')).Login.requestWithLogin).toBe('function');
  expect(typeof require(path.join(dist, 'lib/index.js')).LoginKit).toBe('function');
  expect(typeof require(path.join(dist, 'adapters/index.js')).uniLoginInterceptor).toBe('function');
  /* eslint-enable @typescript-eslint/no-require-imports */
});
