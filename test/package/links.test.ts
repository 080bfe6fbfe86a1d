/** Every link a user of the package meets stays inside the repository, and what it points at exists (and ships). */
import fs from 'fs';
import path from 'path';

const root = path.resolve(__dirname, '../..');

function files(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? files(full, suffix) : entry.name.endsWith(suffix) ? [full] : [];
  });
}

const documents = ['README.md', 'README.zh-CN.md', 'docs/contract.md', 'docs/contract.zh-CN.md']
  .map((rel) => path.join(root, rel))
  .filter((file) => fs.existsSync(file));

it('no markdown link of the README or the contract leaves the repository, and each relative one resolves', () => {
  expect(documents.length).toBeGreaterThanOrEqual(3);
  for (const file of documents) {
    for (const [, target] of fs.readFileSync(file, 'utf8').matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
      if (/^https?:\/\//.test(target)) continue;
      const resolved = path.resolve(path.dirname(file), target);
      expect({ file: path.relative(root, file), target, inside: resolved.startsWith(root + path.sep) }).toMatchObject({ inside: true });
      expect({ target, exists: fs.existsSync(resolved) }).toEqual({ target, exists: true });
    }
  }
});

it('the shipped type declarations name the contract inside the package, never a path outside it', () => {
  const declarations = files(path.join(root, 'types'), '.d.ts');
  expect(declarations.length).toBeGreaterThan(5);
  const text = declarations.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
  expect(text).not.toMatch(/shared\/docs|\.\.\/\.\.\/\.\.\//);
  expect(text).toContain('docs/contract.md');
});
