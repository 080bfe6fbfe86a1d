/**
 * `npm run demo -- --base-url <url> --emulator <url>`, as the README tells a backend team: the reference server started
 * separately (`npm run server`, its own process, any source), and the demo's flows walked against it through the
 * harness's "the team's own backend" option. The steps that need the backend's clock or a second mini-program say
 * they are skipped; every other step passes.
 */
import { execFileSync } from 'child_process';
import path from 'path';
import { spawnNode, type Spawned } from '../helpers/spawned';

const root = path.resolve(__dirname, '../..');
let server: Spawned;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(root, 'scripts/build-demo.js')], { cwd: root, stdio: 'pipe' });
  server = spawnNode([path.join(root, 'build/scripts/dev-server.js')], { ...process.env, PORT: '0', LOG_LEVEL: 'silent' }, /Login\.config/);
  await server.started;
}, 120_000);
afterAll(() => server?.stop());

it('walks the flows of the demo against the reference server started separately', () => {
  const banner = server.output();
  const baseURL = /baseURL\s+(\S+)/.exec(banner)![1];
  const emulator = /stand-in on (\S+?);/.exec(banner)![1];
  const output = execFileSync(process.execPath, [path.join(root, 'build/scripts/demo.js'), '--base-url', baseURL, '--emulator', emulator], {
    cwd: root,
    encoding: 'utf8',
    stdio: 'pipe',
  });
  expect(output).toContain(`backend on ${baseURL} (started separately)`);
  for (const step of [
    'A new user logs in through the AuthModal',
    'A new user logs in through the login page',
    'A returning user logs in silently',
    'Ten concurrent requests share one login',
    'A refusal is recovered through the permission panel',
    "WeChat's official privacy popup, then a phone-number login",
    'Settings: logout, then a forced re-login through the UI',
  ]) {
    expect(output).toContain(step);
  }
  expect(output.match(/skipped: needs control of the backend/g)).toHaveLength(4);
  expect(output).not.toMatch(/FAIL/);
  expect(output).toContain('demo finished: every step passed (4 step(s) skipped against a separate backend)');
}, 120_000);
