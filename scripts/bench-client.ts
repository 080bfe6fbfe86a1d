/**
 * The client half of `npm run bench`, run in a process of its own per variant
 * (`node [--jitless] bench-client.js <requests> <rounds> [<build folder>]`):
 * what a `requestWithLogin` costs over a bare `wx.request`, measured on the build that ships (`miniprogram_dist`, ES2015)
 * — never on the tooling build. `--jitless` is the closest stand-in for iOS, where mini-program logic runs in
 * JavaScriptCore without a JIT.
 *
 * The fake `wx` is minimal and keeps nothing: `wx.request` answers 200 on the next macrotask (`setImmediate`), as
 * WeChat calls back asynchronously. Rounds interleave the two paths (bare, kit, bare, kit, ...) so drift hits both;
 * each round's ratio is kit time ÷ bare time on the main thread (the loop is CPU-bound). Promises and timers created
 * per request are counted with `async_hooks` on single requests after the warm-up — counted, not timed. No forced
 * collection between phases (measured: it made both paths slower and the spread wider); interleaving shares the
 * collector's work fairly. Prints one JSON object.
 */
import { created } from './async-counts';
import path from 'path';
import type { LoginKit as LoginKitType } from '../lib/login-kit';

const root = path.resolve(__dirname, '../..');
// The shipped build, as a mini-program loads it (or another build of the same sources: the fourth argument).
const built = process.argv[4] ?? path.join(root, 'miniprogram_dist');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LoginKit } = require(path.join(built, 'lib/index.js')) as { LoginKit: typeof LoginKitType };

const OK = { statusCode: 200, data: null, header: {} };
const storage = new Map<string, unknown>();
const wx = {
  login: (o: { success?: (r: { code: string }) => void }) => setImmediate(() => o.success?.({ code: 'code' })),
  request: (o: { success?: (r: typeof OK) => void }) => {
    setImmediate(() => o.success?.(OK));
    return { abort: () => undefined };
  },
  getStorageSync: (key: string) => (storage.has(key) ? storage.get(key) : ''),
  setStorageSync: (key: string, value: unknown) => void storage.set(key, value),
  removeStorageSync: (key: string) => void storage.delete(key),
};

/** A backend that always logs the user in at once, with a day-long access token. */
const backend = {
  login: async () => ({
    status: 'ok' as const,
    session: { accessToken: 'access-token', expiresIn: 86_400, refreshToken: 'r', refreshExpiresIn: 864_000 },
  }),
};

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
const round2 = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const requests = Number(process.argv[2] ?? 2000);
  const rounds = Number(process.argv[3] ?? 15);
  const kit = new LoginKit();
  kit.config({ source: 'bench', baseURL: 'https://api.bench', wx, backend, logger: { warn: () => undefined, error: () => undefined } });
  await kit.login();
  const auth = `Bearer ${kit.getState()!.accessToken}`;
  const bare = () =>
    new Promise((resolve) => wx.request({ url: 'https://api.bench/api/data', header: { Authorization: auth }, success: resolve } as never));
  const viaKit = () => kit.requestWithLogin({ url: '/api/data' });
  // Main-thread time of a phase (µs): the loop is CPU-bound on one thread, and wall time leaves out V8's background
  // compiler and GC threads, whose CPU `process.cpuUsage` would charge to whichever phase they happen to run in.
  const cpu = async (run: () => Promise<unknown>) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < requests; i++) await run();
    return Number(process.hrtime.bigint() - start) / 1000;
  };
  for (let i = 0; i < 3; i++) {
    await cpu(bare); // warm-up: not counted
    await cpu(viaKit);
  }
  const ratios: number[] = [];
  const bareUs: number[] = [];
  const kitUs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const b = await cpu(bare);
    const k = await cpu(viaKit);
    bareUs.push(b / requests);
    kitUs.push(k / requests);
    ratios.push(k / b);
  }
  const perRequest = { bare: await created(bare), kit: await created(viaKit) };
  process.stdout.write(
    JSON.stringify({
      jitless: process.execArgv.includes('--jitless'),
      requests,
      rounds,
      ratio: { median: round2(median(ratios)), min: round2(Math.min(...ratios)), max: round2(Math.max(...ratios)) },
      microsecondsPerRequest: { bare: round2(median(bareUs)), kit: round2(median(kitUs)) },
      perRequest,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
