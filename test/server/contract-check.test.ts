/** The conformance check for backend teams, run against the reference server — and against one that is broken. */
import { openSqliteStore } from '../../server/store-sqlite';
import { httpEmulator, printResults, runContractChecks } from '../../scripts/contract-check';
import { startStack, type Stack } from '../../scripts/stack';

async function check(stack: Stack) {
  return runContractChecks({ baseURL: stack.baseURL, emulator: httpEmulator(stack.emulator.baseURL), reuseIntervalSeconds: 1 });
}

it('the reference server passes every check of the contract', async () => {
  const stack = await startStack({ server: { reuseIntervalSeconds: 1 } });
  try {
    const results = await check(stack);
    const lines: string[] = [];
    const failed = printResults(results, (line) => lines.push(line));
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([]);
    expect(failed).toBe(0);
    expect(results.length).toBeGreaterThan(25);
    expect(lines[lines.length - 1]).toBe(`${results.length}/${results.length} checks passed`);
  } finally {
    await stack.close();
  }
}, 30_000);

it('fails a server that does not detect refresh-token reuse, naming the check', async () => {
  const store = openSqliteStore(':memory:');
  // A backend that never records a refresh token as used: reuse detection is off.
  store.db.exec(`CREATE TRIGGER forget_use AFTER UPDATE OF used_at ON refresh_tokens
           BEGIN UPDATE refresh_tokens SET used_at = NULL WHERE hash = NEW.hash; END;`);
  const stack = await startStack({ server: { store, reuseIntervalSeconds: 1 } });
  try {
    const failed = (await check(stack)).filter((r) => !r.passed);
    expect(failed.map((r) => r.name)).toEqual(['a rotated refresh token presented after the reuse interval']);
    expect(failed[0].actual).toMatch(/^reuse: 200/);
  } finally {
    await stack.close();
  }
}, 30_000);

it('the reference server with silent registration (contract 1.2) passes every check too', async () => {
  const stack = await startStack({ registration: 'silent', server: { reuseIntervalSeconds: 1 } });
  try {
    const results = await check(stack);
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(results.find((r) => r.name === 'silent login of an unknown user')?.passed).toBe(true);
  } finally {
    await stack.close();
  }
}, 30_000);
