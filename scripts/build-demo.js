#!/usr/bin/env node
/**
 * Builds the wepy 2 demo (demo/src -> demo/dist) against the *built* kit, installed into node_modules the way
 * `npm install` would (package.json, miniprogram_dist and types). `wepy build` exits 0 on compile errors, so its output is
 * scanned for "ERR!" and the build fails on any.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const installed = path.join(root, 'node_modules/miniprogram-login-kit');

fs.rmSync(installed, { recursive: true, force: true });
fs.mkdirSync(installed, { recursive: true });
fs.copyFileSync(path.join(root, 'package.json'), path.join(installed, 'package.json'));
fs.cpSync(path.join(root, 'miniprogram_dist'), path.join(installed, 'miniprogram_dist'), { recursive: true });
fs.cpSync(path.join(root, 'types'), path.join(installed, 'types'), { recursive: true });

fs.rmSync(path.join(root, 'demo/dist'), { recursive: true, force: true });
const wepy = spawnSync(process.execPath, [require.resolve('@wepy/cli/bin/wepy.js'), 'build', '--no-cache'], {
  cwd: root,
  encoding: 'utf8',
});
const output = `${wepy.stdout}${wepy.stderr}`;
if (wepy.status !== 0 || /ERR!/.test(output) || !fs.existsSync(path.join(root, 'demo/dist/app.json'))) {
  console.error(output);
  console.error('demo build failed');
  process.exit(1);
}
require('./check-demo-types');
console.log('built demo/dist/ (wepy 2)');
