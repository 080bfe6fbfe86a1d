/**
 * `npx miniprogram-login-kit dev` (the built node_dist/cli.js): its flags, and a busy port that says what to do.
 */
import path from 'path';
import { parseDevArgs } from '../../tooling/cli';
import { spawnNode } from '../helpers/spawned';

const cli = path.resolve(__dirname, '../../node_dist/cli.js');
const READY = /Login\.config\(\{[^\n]*\}\);/;

it('reads --port, --host, --registration, --access-ttl and --source, with the defaults', () => {
  expect(parseDevArgs([])).toEqual({ port: 3000, host: '127.0.0.1', registration: 'authorize', accessTtl: undefined, source: 'my-app' });
  expect(parseDevArgs(['--port', '4001', '--host=0.0.0.0', '--registration', 'silent', '--access-ttl', '60', '--source', 'shop'])).toEqual({
    port: 4001,
    host: '0.0.0.0',
    registration: 'silent',
    accessTtl: 60,
    source: 'shop',
  });
});

it.each([
  [['--registration', 'later'], /--registration must be silent or authorize/],
  [['--port', 'x'], /--port must be a whole number/],
  [['--port'], /--port needs a value/],
  [['--verbose', '1'], /unknown option --verbose/],
])('refuses %j', (args, message) => {
  expect(() => parseDevArgs(args)).toThrow(message);
});

it('starts with the flags it was given, and a second start on its port says what to do', async () => {
  const first = spawnNode([cli, 'dev', '--port', '0', '--registration', 'silent', '--source', 'shop'], { ...process.env }, READY);
  try {
    const banner = await first.started;
    expect(banner).toMatch(/registration\s+silent/);
    const port = /baseURL\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)![1];
    expect(banner).toContain(`Login.config({ source: 'shop', baseURL: 'http://127.0.0.1:${port}' });`);
    const second = spawnNode([cli, 'dev', '--port', port], { ...process.env }, READY);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(second.output()).toContain(`npx miniprogram-login-kit dev --port ${Number(port) + 1}`);
  } finally {
    await first.stop();
  }
});

it('refuses to start under NODE_ENV=production, saying what it is', async () => {
  const run = spawnNode([cli, 'dev', '--port', '0'], { ...process.env, NODE_ENV: 'production' }, READY);
  expect(await run.exited).toBe(1);
  expect(run.output()).toMatch(/refusing to start under NODE_ENV=production — it is a development backend/);
});
