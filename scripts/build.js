#!/usr/bin/env node
/**
 * Builds what ships into miniprogram_dist/ (and the Node-side plugins into node_dist/): esbuild for the .ts files (ES2015 CommonJS, see bundleJs), tsc for their .d.ts (into types/: a mini-program receives only what it runs), less for .less -> .wxss,
 * and a copy of .wxml/.json. Exits non-zero on any error.
 *   node scripts/build.js                 the kit
 *   node scripts/build.js --tools         only server/, emulator/, scripts/ into build/ (for the demo)
 *   node scripts/build.js --kit --tools   both
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const less = require('less');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'miniprogram_dist');
const UI_DIRS = ['components', 'pages'];

function tsc(project, ...flags) {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project, ...flags], { cwd: root, stdio: 'inherit' });
}

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

/**
 * Replaces each `<include src="..."/>` by the file it names, so the shipped WXML is self-contained (wepy and
 * miniprogram-simulate then need nothing beside the component's own four files).
 */
function inlineIncludes(file) {
  return fs
    .readFileSync(file, 'utf8')
    .replace(/<include src="([^"]+)"\s*\/>/g, (_, src) =>
      inlineIncludes(path.resolve(path.dirname(file), src)).replace(/<!--[\s\S]*?-->\n?/g, ''),
    );
}

async function buildAssets() {
  for (const top of UI_DIRS) {
    for (const file of walk(path.join(root, top))) {
      const rel = path.relative(root, file);
      const ext = path.extname(file);
      if (rel.startsWith(path.join('components', 'common') + path.sep) && ext !== '.ts') continue; // partials
      if (ext === '.wxml') {
        fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
        fs.writeFileSync(path.join(dist, rel), inlineIncludes(file));
      } else if (ext === '.json') {
        fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
        fs.copyFileSync(file, path.join(dist, rel));
      } else if (ext === '.less') {
        const out = await less.render(fs.readFileSync(file, 'utf8'), { filename: file });
        if (out.css.trim() === '') continue; // a partial of variables only (components/common/theme.less)
        fs.mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
        fs.writeFileSync(path.join(dist, rel.replace(/\.less$/, '.wxss')), out.css);
      }
    }
  }
}

/**
 * The JavaScript that ships, built by esbuild from the TypeScript sources as ES2015 CommonJS, in three kinds of unit:
 *   index.js            the core (lib/), the hub, the page UI and the entry: one file;
 *   adapters/index.js   the request-layer adapters: one file, requiring ../index;
 *   components/**, pages/**   one file per source file (WeChat loads each component by its path), requiring
 *                        ../../index for anything from lib/ or hub/, never a second copy of them.
 * lib/index.js (the `./lib` subpath) is the entry again: `require('../index')`.
 * What the other units import from index.js reaches them through its non-enumerable `_internal` property, which
 * index.d.ts does not declare (it is not API). Why ES2015 and one file, with the sizes and the base library that
 * follow: README "Size and output format". The .d.ts files stay tsc's, one per source file. esbuild reads
 * tsconfig.json: its ES5 `target` keeps class fields as assignments in the constructor (useDefineForClassFields off).
 */
const TARGET = 'es2015';

/** The unit (path in miniprogram_dist without .js) a source file is built into. */
function unitOf(file) {
  const rel = path.relative(root, file).split(path.sep).join('/').replace(/\.ts$/, '');
  if (rel === 'index' || /^(lib|hub)\//.test(rel) || rel === 'components/auth-modal/auth-modal') return 'index';
  if (rel.startsWith('adapters/')) return 'adapters/index';
  return rel;
}

/** Relative `require` path from the unit `from` to the unit `to`. */
function requirePath(from, to) {
  const rel = path.posix.relative(path.posix.dirname(from), to);
  return rel.startsWith('.') ? rel : `./${rel}`;
}

const sourceOf = (target) => (fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts'));

/** The modules of the index unit that other units import (as `./lib/tips`, ...): what `_internal` carries. */
function internalModules() {
  const wanted = new Set();
  const others = ['adapters', ...UI_DIRS].flatMap((top) => [...walk(path.join(root, top))]);
  for (const file of others.filter((f) => f.endsWith('.ts') && unitOf(f) !== 'index')) {
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/^import (?!type )[^;]*? from '(\.[^']+)'/gm)) {
      const target = sourceOf(path.resolve(path.dirname(file), spec));
      if (unitOf(target) === 'index') wanted.add(`./${path.relative(root, target).split(path.sep).join('/').replace(/\.ts$/, '')}`);
    }
  }
  return [...wanted].sort();
}

/** esbuild's options for what ships: a CommonJS bundle for `target`, platform-neutral (no Node built-ins). */
const esbuildOptions = (target) => ({
  bundle: true,
  format: 'cjs',
  target,
  platform: 'neutral',
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'error',
});

/** `file` (a .ts of the kit) built by itself the way the kit ships, as text (bench: the core alone, the limiter). */
function builtAlone(file) {
  return require('esbuild').buildSync({ ...esbuildOptions(TARGET), entryPoints: [path.join(root, file)], write: false }).outputFiles[0]
    .text;
}

/** Builds the JavaScript units into `out` (default miniprogram_dist) for `target` (bench: the other targets, measured). */
async function bundleJs(out = dist, target = TARGET) {
  const esbuild = require('esbuild');
  const build = (unit, entry) =>
    esbuild.build({
      ...entry,
      ...esbuildOptions(target),
      outfile: path.join(out, `${unit}.js`),
      plugins: [
        {
          name: 'units',
          setup(b) {
            const entryPath = requirePath(unit, 'index');
            b.onResolve({ filter: /^\./ }, (args) => {
              if (args.namespace === 'internal') return { path: args.path, external: true };
              if (args.importer === '<stdin>') return undefined;
              const other = unitOf(sourceOf(path.resolve(args.resolveDir, args.path)));
              if (other === unit) return undefined;
              if (other === 'index') return { path: 'index', namespace: 'internal' };
              return { path: requirePath(unit, other), external: true };
            });
            b.onLoad({ filter: /.*/, namespace: 'internal' }, () => ({
              contents: `module.exports = require(${JSON.stringify(entryPath)})._internal;`,
              loader: 'js',
              resolveDir: root,
            }));
          },
        },
      ],
    });
  const internal = internalModules();
  const entry = [
    "export * from './index';",
    ...internal.map((m, i) => `import * as m${i} from '${m}';`),
    // Not enumerable: the entry's keys stay its API (test/package/architecture.test.ts).
    `Object.defineProperty(module.exports, '_internal', { value: Object.assign({}, ${internal.map((_, i) => `m${i}`).join(', ')}) });`,
  ].join('\n');
  const ui = UI_DIRS.flatMap((top) => [...walk(path.join(root, top))]).filter((f) => f.endsWith('.ts') && unitOf(f) !== 'index');
  await Promise.all([
    build('index', { stdin: { contents: entry, resolveDir: root, sourcefile: 'index (unit)', loader: 'ts' } }),
    build('adapters/index', { entryPoints: [path.join(root, 'adapters/index.ts')] }),
    ...ui.map((file) => build(unitOf(file), { entryPoints: [file] })),
  ]);
  fs.mkdirSync(path.join(out, 'lib'), { recursive: true });
  fs.writeFileSync(
    path.join(out, 'lib/index.js'),
    "'use strict';\n// The core is bundled into the package entry (scripts/build.js): one copy of every module.\nmodule.exports = require('../index');\n",
  );
}

/** The .d.ts files of tooling/ that miniprogram-login-kit/testing's types reach. */
const TESTING_TYPES = ['testing', 'backend', 'launch', 'kit-ui', 'wait', 'wechat'];

/**
 * Node-side tooling into node_dist/ (never a mini-program: "Build npm" copies only miniprogram_dist/): the test harness
 * `miniprogram-login-kit/testing` (node_dist/testing/index.js) and the `miniprogram-login-kit` bin (node_dist/cli.js,
 * which requires the harness). Bundled by esbuild with what they need (the reference server's routes, Fastify, jose),
 * so the package keeps no runtime dependencies; miniprogram-simulate and jsdom stay the user's (optional peers).
 */
async function buildTesting() {
  const esbuild = require('esbuild');
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'error',
    charset: 'utf8',
    // Whitespace and syntax minified, names kept: half the bytes in the tarball, stack traces still readable.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
  };
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'tooling/testing.ts')],
    outfile: path.join(root, 'node_dist/testing/index.js'),
    external: ['miniprogram-simulate', 'jsdom'],
  });
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'tooling/cli.ts')],
    outfile: path.join(root, 'node_dist/cli.js'),
    banner: { js: '#!/usr/bin/env node' },
    plugins: [
      {
        name: 'testing-external',
        setup(b) {
          b.onResolve({ filter: /^\.\/testing$/ }, () => ({ path: './testing/index.js', external: true }));
        },
      },
    ],
  });
  fs.chmodSync(path.join(root, 'node_dist/cli.js'), 0o755);
  tsc('tsconfig.testing.json');
  for (const name of TESTING_TYPES) {
    fs.copyFileSync(path.join(root, 'build/testing-types/tooling', `${name}.d.ts`), path.join(root, 'node_dist/testing', `${name}.d.ts`));
  }
}

async function main() {
  const tools = process.argv.includes('--tools');
  const kit = !tools || process.argv.includes('--kit');
  if (kit) {
    fs.rmSync(dist, { recursive: true, force: true });
    fs.rmSync(path.join(root, 'types'), { recursive: true, force: true });
    tsc('tsconfig.json', '--emitDeclarationOnly');
    await bundleJs();
    await buildAssets();
    fs.rmSync(path.join(root, 'node_dist'), { recursive: true, force: true });
    tsc('tsconfig.plugins.json');
    await buildTesting();
    console.log('built miniprogram_dist/, types/ and node_dist/ (the uni-app vite plugin, miniprogram-login-kit/testing, the dev CLI)');
  }
  if (tools) {
    tsc('tsconfig.tools.build.json');
    console.log('built build/ (server, emulator, scripts)');
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

module.exports = { bundleJs, builtAlone };
