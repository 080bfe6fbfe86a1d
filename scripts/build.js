#!/usr/bin/env node
/**
 * Builds what ships into miniprogram_dist/ (and the Node-side plugins into node_dist/): tsc for the .ts files (ES5 CommonJS + .d.ts), less for .less -> .wxss,
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

function tsc(project) {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], { cwd: root, stdio: 'inherit' });
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
 * TypeScript's ES5 output repeats its helpers (`__awaiter`, `__generator`, `__assign`, ...) at the top of every file
 * that needs them: about 15% of the minified kit. Each helper written as `var __x = (this && this.__x) || function`
 * is moved, once, into `miniprogram_dist/_helpers.js`, and every file requires it from there (the text of each helper
 * is checked to be the same everywhere; a helper that differs anywhere stays where it is). WeChat counts the raw bytes
 * of a package, so repeated code is paid for in every file. A helper that calls one that cannot move stays too.
 */
function shareHelpers() {
  const HELPER = /^var (__\w+) = \(this && this\.\1\) \|\| function[\s\S]*?\n\};\n/gm;
  const files = [...walk(dist)].filter((file) => file.endsWith('.js'));
  const texts = new Map();
  const differs = new Set();
  for (const file of files) {
    for (const [text, name] of fs.readFileSync(file, 'utf8').matchAll(HELPER)) {
      if (texts.has(name) && texts.get(name) !== text) differs.add(name);
      else texts.set(name, text);
    }
  }
  for (const name of differs) texts.delete(name);
  // A helper that calls another helper (`__exportStar` calls `__createBinding`) moves only with it.
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, text] of texts) {
      const uses = text.match(/\b__\w+/g).filter((other) => other !== name);
      if (uses.some((other) => !texts.has(other))) {
        texts.delete(name);
        changed = true;
      }
    }
  }
  if (texts.size === 0) return;
  const shared = path.join(dist, '_helpers.js');
  const names = [...texts.keys()].sort();
  fs.writeFileSync(
    shared,
    `"use strict";\n// TypeScript's ES5 helpers, once for the whole package (scripts/build.js).\n${names.map((n) => texts.get(n)).join('')}` +
      names.map((n) => `exports.${n} = ${n};\n`).join(''),
  );
  for (const file of files) {
    const code = fs.readFileSync(file, 'utf8');
    let from = path.relative(path.dirname(file), shared).split(path.sep).join('/').replace(/\.js$/, '');
    if (!from.startsWith('.')) from = `./${from}`;
    const replaced = code.replace(HELPER, (text, name) =>
      texts.get(name) === text ? `var ${name} = require("${from}").${name};\n` : text,
    );
    if (replaced !== code) fs.writeFileSync(file, replaced);
  }
}

async function main() {
  const tools = process.argv.includes('--tools');
  const kit = !tools || process.argv.includes('--kit');
  if (kit) {
    fs.rmSync(dist, { recursive: true, force: true });
    tsc('tsconfig.json');
    shareHelpers();
    await buildAssets();
    fs.rmSync(path.join(root, 'node_dist'), { recursive: true, force: true });
    tsc('tsconfig.plugins.json');
    console.log('built miniprogram_dist/ and node_dist/ (the uni-app vite plugin)');
  }
  if (tools) {
    tsc('tsconfig.tools.build.json');
    console.log('built build/ (server, emulator, scripts)');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
