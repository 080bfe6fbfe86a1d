/**
 * The shipped build (scripts/build.js `bundleJs`): the core, the hub and the entry are one file, index.js; the
 * components, the login page and the adapters require it and carry none of it; and each unit still loads.
 */
import fs from 'fs';
import path from 'path';

const dist = path.resolve(__dirname, '../../miniprogram_dist');
const jsFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });
const rel = (file: string) => path.relative(dist, file).split(path.sep).join('/');

it('defines the core, the hub and the entry in index.js only', () => {
  // One definition each of the login state machine, the hub and the default instance.
  for (const marker of ['LoginKit = class', 'Hub = class', 'shared("Login"', 'shared("userAuthHub"']) {
    expect(
      jsFiles(dist)
        .filter((file) => fs.readFileSync(file, 'utf8').includes(marker))
        .map(rel),
    ).toEqual(['index.js']);
  }
});

it('has every other file require only index.js and the UI files beside it', () => {
  const required = new Set<string>();
  for (const file of jsFiles(dist).filter((f) => rel(f) !== 'index.js')) {
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
      required.add(path.posix.join(path.posix.dirname(rel(file)), spec));
    }
  }
  expect([...required].sort()).toEqual(['components/common/auth-behavior', 'components/common/auth-events', 'index']);
  expect(fs.readFileSync(path.join(dist, 'lib/index.js'), 'utf8')).toContain("module.exports = require('../index');");
});

it('still loads as a mini-program loads it: the entry, ./lib and the adapters, with the internals out of the API', () => {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const entry = require(path.join(dist, 'index.js'));
  expect(typeof entry.Login.requestWithLogin).toBe('function');
  expect(require(path.join(dist, 'lib/index.js')).LoginKit).toBe(entry.LoginKit);
  expect(typeof require(path.join(dist, 'adapters/index.js')).uniLoginInterceptor).toBe('function');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // What the other units import travels on a property that is neither enumerable nor declared.
  expect(Object.keys(entry)).not.toContain('_internal');
  expect(typeof entry._internal.globalWx).toBe('function');
  expect(fs.readFileSync(path.resolve(dist, '../types/index.d.ts'), 'utf8')).not.toContain('_internal');
});
