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

async function main() {
  const tools = process.argv.includes('--tools');
  const kit = !tools || process.argv.includes('--kit');
  if (kit) {
    fs.rmSync(dist, { recursive: true, force: true });
    tsc('tsconfig.json');
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
