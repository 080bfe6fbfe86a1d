/** The layout the README's "Architecture" section promises, checked on the files. */
import fs from 'fs';
import path from 'path';

const root = path.resolve(__dirname, '../..');
const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
const tsFiles = (dir: string) =>
  fs
    .readdirSync(path.join(root, dir))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `${dir}/${name}`);

describe('architecture', () => {
  it('keeps every core file under 450 lines', () => {
    const long = tsFiles('lib').filter((file) => read(file).split('\n').length > 450);
    expect(long).toEqual([]);
  });

  it('keeps the core free of pages, components and frameworks', () => {
    const offenders = tsFiles('lib').filter((file) =>
      /from '\.\.\/(hub|components|pages)|getCurrentPages|require\('@?wepy/.test(read(file)),
    );
    expect(offenders).toEqual([]);
  });

  it('never imports the emulator from the server', () => {
    const offenders = tsFiles('server').filter((file) => /from '\.\.\/emulator/.test(read(file)));
    expect(offenders).toEqual([]);
  });

  it('exports at most 15 runtime values from the built package entry', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require(root) as Record<string, unknown>;
    expect(Object.keys(entry).length).toBeLessThanOrEqual(15);
    expect(Object.keys(entry)).toEqual(
      expect.arrayContaining(['Login', 'createLogin', 'LoginError', 'isLoginError', 'userAuthHub', 'AuthModal']),
    );
  });
});
