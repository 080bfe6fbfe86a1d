/** The README's performance figures are what `bench/results.json` says, never typed by hand. */
import fs from 'fs';
import path from 'path';
import { renderSections, withSections, type BenchResults } from '../../scripts/bench-report';

it('renders every performance section of the README from bench/results.json', () => {
  const root = path.resolve(__dirname, '../..');
  const results = JSON.parse(fs.readFileSync(path.join(root, 'bench/results.json'), 'utf8')) as BenchResults;
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  expect(withSections(readme, renderSections(results))).toBe(readme);
});
