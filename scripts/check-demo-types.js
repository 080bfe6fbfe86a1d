#!/usr/bin/env node
/**
 * Type-checks the `<script lang="typescript">` blocks of the demo's .wpy files (wepy's TypeScript compiler only
 * transpiles). Each block is written to build/demo-types/ as a .ts file and checked with tsc against the *built* kit
 * (node_modules/miniprogram-login-kit, installed by scripts/build-demo.js) and @wepy/core's typings.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'demo/src');
const out = path.join(root, 'build/demo-types');

function* wpyFiles(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* wpyFiles(full);
    else if (entry.name.endsWith('.wpy')) yield full;
  }
}

fs.rmSync(out, { recursive: true, force: true });
const files = [];
for (const file of wpyFiles(src)) {
  const match = /<script lang="typescript">([\s\S]*?)<\/script>/.exec(fs.readFileSync(file, 'utf8'));
  if (!match) continue;
  const target = path.join(out, path.relative(src, file).replace(/\.wpy$/, '.ts'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, match[1]);
  files.push(target);
}
fs.writeFileSync(
  path.join(out, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        target: 'es2017',
        module: 'commonjs',
        lib: ['es2017'],
        strict: true,
        noEmit: true,
        esModuleInterop: true,
        skipLibCheck: true,
        types: [],
        typeRoots: [],
        baseUrl: root,
        paths: { 'miniprogram-login-kit': ['node_modules/miniprogram-login-kit/types/index.d.ts'] },
      },
      files: files.map((f) => path.relative(out, f)),
    },
    null,
    2,
  ),
);
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', out], { stdio: 'inherit' });
console.log(`type-checked ${files.length} demo script blocks`);
