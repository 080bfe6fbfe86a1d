/** What `npm publish` would ship, proven with `npm pack --dry-run` (no network needed). */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out)[0].files as Array<{ path: string }>).map((f) => f.path).sort();
}

describe('the npm package', () => {
  const files = packedFiles();

  it('ships the built kit and the documents its README links to — and nothing else (no screenshots: npm shows none from a tarball)', () => {
    const shipped = [
      'package.json',
      'README.md',
      'README.zh-CN.md',
      'CHANGELOG.md',
      'LICENSE',
      'docs/contract.md',
      'docs/contract.zh-CN.md',
      'components/auth-modal/README.md',
      'pages/login/README.md',
      // Node-side tooling beside the kit (outside miniprogram_dist, so "Build npm" never puts it in a mini-program).
      'node_dist/vite.js',
      'node_dist/vite.d.ts',
      // miniprogram-login-kit/testing (one bundle and its types) and the `miniprogram-login-kit` bin.
      'node_dist/cli.js',
      'node_dist/testing/index.js',
      ...['testing', 'backend', 'launch', 'kit-ui', 'wait', 'wechat'].map((name) => `node_dist/testing/${name}.d.ts`),
    ];
    const outside = files.filter((f) => !f.startsWith('miniprogram_dist/') && !f.startsWith('types/') && !shipped.includes(f));
    expect(outside).toEqual([]);
    for (const required of [
      'miniprogram_dist/index.js',
      'types/index.d.ts',
      'types/lib/index.d.ts',
      'types/adapters/index.d.ts',
      'miniprogram_dist/components/auth-modal/index.wxml',
      'miniprogram_dist/pages/login/index.js',
    ]) {
      expect(files).toContain(required);
    }
  });

  it('contains no dev tooling, demo, server, emulator, tests or TypeScript sources', () => {
    expect(files.filter((f) => /(^|\/)(server|emulator|demo|scripts|test)\//.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)))).toEqual(
      [],
    );
  });

  it('has zero runtime dependencies: the harness needs only optional peers (miniprogram-simulate, jsdom), never installed for a mini-program', () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies ?? {}).sort()).toEqual(['jsdom', 'miniprogram-simulate']);
    for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
  });

  it('bundles what the harness and the dev backend need: outside any node_modules, its dev backend starts and answers a login', () => {
    // The built node_dist/ alone, in a folder whose parents hold no node_modules: a hidden dependency fails to load.
    const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-node-dist-'));
    fs.cpSync(path.join(root, 'node_dist'), path.join(alone, 'node_dist'), { recursive: true });
    const script = `
      const { startBackend } = require(${JSON.stringify(path.join(alone, 'node_dist/testing/index.js'))});
      (async () => {
        const backend = await startBackend();
        const code = await backend.wechat.issueCode('alone');
        const response = await fetch(backend.baseURL + '/auth/login', {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'any-app', mode: 'authorize', code, profile: { nickName: 'Alone' } }),
        });
        console.log(response.status, (await response.json()).user.nickName);
        await backend.close();
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: alone, encoding: 'utf8' });
    fs.rmSync(alone, { recursive: true, force: true });
    expect(out.trim()).toBe('200 Alone');
  });

  it('keeps the type declarations out of what a mini-program receives: none in miniprogram_dist', () => {
    expect(files.filter((f) => f.startsWith('miniprogram_dist/') && f.endsWith('.d.ts'))).toEqual([]);
  });

  it('points main, types and exports at built files', () => {
    const { exports } = pkg;
    for (const target of [
      pkg.main,
      pkg.types,
      exports['.'].default,
      exports['.'].types,
      exports['./lib'].default,
      exports['./lib'].types,
      exports['./adapters'].types,
      exports['./vite'].default,
      ...Object.values(pkg.typesVersions['*'] as Record<string, string[]>).flat(),
      exports['./testing'].default,
      exports['./testing'].types,
      pkg.bin['miniprogram-login-kit'],
    ]) {
      expect(files).toContain(target.replace(/^\.\//, ''));
    }
  });

  it('ships every document the shipped READMEs link to; the pictures stay in the repository (npm renders the relative images from its repository, never from the tarball)', () => {
    const documents = files.filter((f) => f.endsWith('.md'));
    expect(documents).toContain('README.md');
    let pictures = 0;
    for (const doc of documents) {
      const text = fs.readFileSync(path.join(root, doc), 'utf8');
      const targets = [...text.matchAll(/\]\(([^)#\s]+)[^)]*\)|src="([^"]+)"/g)]
        .map((m) => m[1] ?? m[2])
        .filter((t) => !/^https?:/.test(t));
      for (const target of targets) {
        const shippedPath = path.posix.normalize(path.posix.join(path.posix.dirname(doc), target));
        if (/\.(png|jpe?g|gif|webp|svg)$/i.test(target)) {
          pictures++;
          expect({ target, inRepository: fs.existsSync(path.join(root, shippedPath)), shipped: files.includes(shippedPath) }).toEqual({
            target,
            inRepository: true,
            shipped: false,
          });
        } else expect({ doc, target, shipped: files.includes(shippedPath) }).toEqual({ doc, target, shipped: true });
      }
    }
    expect(pictures).toBeGreaterThan(0);
  });
});

it('commits no compiler cache of the examples (a 2.6 MB .swc folder once was)', () => {
  const tracked = execFileSync('git', ['ls-files', 'examples'], { cwd: root, encoding: 'utf8' }).split('\n');
  expect(tracked.filter((file) => /(^|\/)\.(swc|cache|turbo)\//.test(file))).toEqual([]);
});
