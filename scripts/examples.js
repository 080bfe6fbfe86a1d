#!/usr/bin/env node
/**
 * The framework examples (examples/taro, examples/uni-app), each with its own lockfile.
 *   node scripts/examples.js install          installs each example's dependencies (skipped when its lockfile is
 *                                             unchanged since the last install) and puts the freshly built kit in
 *   node scripts/examples.js build <name>     builds one example for WeChat into examples/<name>/dist/...
 *   node scripts/examples.js build taro --dev the Taro example as a team runs it every day (`taro build --watch`, which
 *                                             prebundles dependencies) into examples/taro/dist, stopped once it has
 *                                             compiled
 *   node scripts/examples.js build uni-app --without-plugin
 *                                             the uni-app example as a team that left `loginKitUni()` out of
 *                                             vite.config builds it, into a new temporary folder
 *
 * Installs use `npm install --ignore-scripts` from the lockfile, not `npm ci`: the lockfiles list other platforms'
 * optional binaries (@tarojs/binding-darwin-*, @rollup/rollup-android-*) that this registry answers 404 for, which
 * `npm ci` refuses (EUSAGE); both builds work without install scripts (Taro's postinstall only fetches from the
 * internet). The kit itself is always replaced by what `npm pack` makes of the current checkout, as a team gets it.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawn } = require('child_process');
const { setTimeout, clearTimeout } = require('timers');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Each example: its folder, its build command (a bin of its own node_modules) and where the build lands. */
const EXAMPLES = {
  taro: { bin: 'taro', args: ['build', '--type', 'weapp'], output: 'dist' },
  'uni-app': { bin: 'uni', args: ['build', '-p', 'mp-weixin'], output: 'dist/build/mp-weixin' },
};

const dirOf = (name) => path.join(root, 'examples', name);
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });

/** The kit as `npm pack` makes it (the `files` of package.json), unpacked into `target`. */
function installKit(target) {
  const packed = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-examples-'));
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--pack-destination', packed], { cwd: root, encoding: 'utf8' });
  const tarball = path.join(packed, out.trim().split('\n').pop());
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  fs.rmSync(packed, { recursive: true, force: true });
}

function install() {
  for (const name of Object.keys(EXAMPLES)) {
    const dir = dirOf(name);
    const lock = fs.readFileSync(path.join(dir, 'package-lock.json'));
    const digest = crypto.createHash('sha256').update(lock).digest('hex');
    const stamp = path.join(dir, 'node_modules', '.installed-lockfile');
    if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== digest) {
      console.log(`examples/${name}: npm install --ignore-scripts (from its lockfile)`);
      run(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save'], dir);
      fs.writeFileSync(stamp, digest);
    }
    installKit(path.join(dir, 'node_modules', 'miniprogram-login-kit'));
    console.log(`examples/${name}: dependencies ready, kit from npm pack`);
  }
}

function build(name) {
  const example = EXAMPLES[name];
  if (!example) throw new Error(`unknown example "${name}" (${Object.keys(EXAMPLES).join(', ')})`);
  const dir = dirOf(name);
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  run(path.join(dir, 'node_modules', '.bin', example.bin), example.args, dir);
  const app = path.join(dir, example.output);
  if (!fs.existsSync(path.join(app, 'app.js'))) throw new Error(`examples/${name}: the build wrote no ${example.output}/app.js`);
  console.log(`built examples/${name}/${example.output}`);
}

/**
 * The Taro example's development build: `taro build --type weapp --watch` into examples/taro/dist, stopped once a
 * compilation has finished with the app written ("Watching..." after app.js exists; the
 * prebundle step compiles and watches first). Bounded: 5 minutes. Resolves with the output folder.
 */
function buildTaroDev() {
  const dir = dirOf('taro');
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  const out = path.join(dir, 'dist');
  const taro = spawn(path.join(dir, 'node_modules', '.bin', 'taro'), ['build', '--type', 'weapp', '--watch'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => finish(new Error('examples/taro: the --watch build did not finish within 5 minutes')), 300_000);
    function finish(error) {
      clearTimeout(limit);
      taro.kill('SIGTERM');
      if (error) reject(error);
      else resolve(out);
    }
    taro.stdout.on('data', (chunk) => {
      if (/Watching/.test(String(chunk)) && fs.existsSync(path.join(out, 'app.js'))) finish();
    });
    taro.on('exit', (code) => finish(new Error(`examples/taro: taro build --watch exited (${code}) before it compiled`)));
  });
}

/**
 * The uni-app example built with `plugins: [uni()]` only — `loginKitUni()` left out — through a vite config written
 * beside the example's own for the build and removed after it, into a new temporary folder (apart from the example's
 * dist/, which its other build empties). Returns that folder.
 */
function buildUniWithoutPlugin() {
  const dir = dirOf('uni-app');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-uni-without-plugin-'));
  const config = path.join(dir, 'vite.without-plugin.config.js');
  fs.writeFileSync(
    config,
    "import { defineConfig } from 'vite';\nimport uni from '@dcloudio/vite-plugin-uni';\nexport default defineConfig({ plugins: [uni()] });\n",
  );
  try {
    run(path.join(dir, 'node_modules', '.bin', 'uni'), ['build', '-p', 'mp-weixin', '-c', config, '--outDir', out], dir);
  } finally {
    fs.rmSync(config, { force: true });
  }
  if (!fs.existsSync(path.join(out, 'app.js'))) throw new Error('examples/uni-app: the build without loginKitUni() wrote no app.js');
  return out;
}

const [command, name, flag] = process.argv.slice(2);
if (command === 'install') install();
else if (command === 'build' && name === 'taro' && flag === '--dev')
  buildTaroDev().then(
    (out) => console.log(`built examples/taro in development mode into ${out}`),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
else if (command === 'build' && name === 'uni-app' && flag === '--without-plugin')
  console.log(`built examples/uni-app without loginKitUni() into ${buildUniWithoutPlugin()}`);
else if (command === 'build') build(name);
else {
  console.error('usage: node scripts/examples.js install | build <taro|uni-app>');
  process.exit(2);
}
