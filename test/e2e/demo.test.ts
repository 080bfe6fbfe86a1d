/**
 * The main job, as the README runs it: the built wepy 2 demo walked headlessly against the reference server.
 * Builds the demo (a few seconds; `npm test` built the tools before jest started, and other suites run them), then
 * runs the demo script and expects every step to pass.
 */
import { execFileSync } from 'child_process';
import path from 'path';

const root = path.resolve(__dirname, '../..');
const node = (script: string, ...args: string[]) =>
  execFileSync(process.execPath, [path.join(root, script), ...args], { cwd: root, encoding: 'utf8', stdio: 'pipe' });

it('walks every login flow of the built demo app successfully', () => {
  node('scripts/build-demo.js');
  const output = node('build/scripts/demo.js');
  for (const step of [
    'A new user logs in through the AuthModal',
    'A new user logs in through the login page',
    'A returning user logs in silently',
    'Ten concurrent requests share one login',
    'An expired session is re-established transparently',
    'The token expires while the user is busy: ten requests, one refresh',
    'A refusal is recovered through the permission panel',
    "WeChat's official privacy popup, then a phone-number login",
    'No-feeling login in a second mini-program: browse with no prompt, then step up for a profile and a phone',
    'One person, one account across the app family: Alice opens the second mini-program',
    'Settings: logout, then a forced re-login through the UI',
    'Settings: delete the account (注销账号), then the same WeChat user arrives as a new user',
  ]) {
    expect(output).toContain(step);
  }
  expect(output).not.toMatch(/FAIL/);
  expect(output).toContain('demo finished: every step passed');
}, 120_000);
