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

  it('has calls only go down in the core: each file imports only files of lower layers (or its own)', () => {
    // Top to bottom: README "Architecture". A room that imported one above it could call back up (as the four host
    // interfaces once did); `LoginKit` is reachable only from the entry.
    const layers = [
      ['index'],
      ['login-kit'],
      ['authorized-call'],
      ['request-gate'],
      ['step-up', 'account'],
      ['flight'],
      ['context'],
      ['user-auth'],
      ['code-login'],
      ['session', 'loading', 'modes', 'realtime-log'],
      ['options'],
      ['contract-backend', 'transport', 'tips', 'base-library'],
      ['limiter', 'runtime', 'wechat-types', 'types', 'backend-types', 'errors'],
    ];
    const layerOf = (name: string) => layers.findIndex((layer) => layer.indexOf(name) >= 0);
    const files = tsFiles('lib').map((file) => path.basename(file, '.ts'));
    expect(files.filter((name) => layerOf(name) < 0)).toEqual([]); // every core file has its place
    const upward: string[] = [];
    for (const name of files) {
      for (const [, target] of read(`lib/${name}.ts`).matchAll(/from '\.\/([a-z-]+)'/g)) {
        if (layerOf(target) < layerOf(name)) upward.push(`${name} -> ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('hands the rooms below LoginKit its shared state and each other, never a closure or LoginKit itself', () => {
    const source = read('lib/login-kit.ts');
    const constructions = [...source.matchAll(/new (KitContext|SingleFlight|StepUps|Gate)\(([^)]*)\)/g)];
    expect(constructions.map((m) => m[1]).sort()).toEqual(['Gate', 'KitContext', 'SingleFlight', 'StepUps']);
    for (const [, room, args] of constructions) {
      for (const arg of args.split(',').map((a) => a.trim())) {
        expect({ room, arg, ok: /^(this\.(kit|flight|stepUps)|defaults\.logger)$/.test(arg) }).toEqual({ room, arg, ok: true });
      }
    }
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
