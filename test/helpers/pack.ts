/** The package as `npm publish` would ship it: `npm pack` of this checkout, for tests that install it as a team does. */
import { execFileSync } from 'child_process';
import path from 'path';

const root = path.resolve(__dirname, '../..');

/** Packs the checkout into `dir` (install scripts off) and returns the tarball's path. */
export function packKit(dir: string): string {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return path.join(dir, out.trim().split('\n').pop()!);
}
