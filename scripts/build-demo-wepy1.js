#!/usr/bin/env node
/**
 * Builds the wepy 1 demo (demo-wepy1/src -> demo-wepy1/dist) with wepy-cli 1.7.3, the way the README's wepy 1 recipe
 * says: the built kit (miniprogram_dist, without its .d.ts files, which wepy 1 would try to compile) is copied into
 * src/components/login-kit/. wepy-cli 1 reports compile errors on stdout and may still exit 0, so its output is
 * scanned and the build fails on any error or on a missing page.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const app = path.join(root, 'demo-wepy1');
const kitCopy = path.join(app, 'src/components/login-kit');

fs.rmSync(kitCopy, { recursive: true, force: true });
fs.cpSync(path.join(root, 'miniprogram_dist'), kitCopy, { recursive: true, filter: (file) => !file.endsWith('.d.ts') });

fs.rmSync(path.join(app, 'dist'), { recursive: true, force: true });
const wepy = spawnSync(process.execPath, [require.resolve('wepy-cli/bin/wepy.js'), 'build', '--no-cache'], {
  cwd: app,
  encoding: 'utf8',
});
const output = `${wepy.stdout}${wepy.stderr}`;
const built = ['app.js', 'app.json', 'pages/index.js', 'pages/login.js', 'components/login-kit/components/auth-modal/index.wxml'];
if (wepy.status !== 0 || /Error|错误|找不到|正在尝试/.test(output) || built.some((file) => !fs.existsSync(path.join(app, 'dist', file)))) {
  console.error(output);
  console.error('wepy 1 demo build failed');
  process.exit(1);
}
console.log('built demo-wepy1/dist/ (wepy 1)');
