/**
 * The README's performance section, rendered from `bench/results.json` — the single source: `npm run bench` rewrites
 * the parts between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, and a test checks that the README says exactly
 * what the committed results say (no figure typed by hand).
 */

/** What `npm run bench` writes (the parts the README shows). */
export interface BenchResults {
  startedAt: string;
  machine: { cpus: number; cpu?: string; node: string };
  bursts: Array<{
    burst: number;
    newUser: { wxLogin: number; backendLogin: number; ui: number };
    returningUser: { wxLogin: number; backendLogin: number; ui: number };
    expiredToken: { refresh: number; wxLogin: number };
  }>;
  steady: {
    requests: number;
    perRequest: { checkSession: number; wxLogin: number; storageReads: number };
  };
  client: { jit: ClientRun; jitless: ClientRun };
  limiter: Array<{ queued: number; microsecondsPerTask: number }>;
  size: Record<
    'core' | 'entry' | 'authModal' | 'loginPage' | 'adapters',
    { files: number; rawBytes: number; minifiedBytes: number; gzipBytes: number }
  >;
  server: Record<'sqlite' | 'postgres', ServerRun>;
  outputs: {
    es5PerFile: { entry: PackedSize; client: { jit: ClientRun; jitless: ClientRun } };
    es2017: { entry: PackedSize; client: { jit: ClientRun; jitless: ClientRun } };
  };
}

/** Minified (terser or esbuild) and gzipped (level 9) bytes. */
interface PackedSize {
  minifiedBytes: number;
  gzipBytes: number;
}

/** One process of scripts/bench-client.ts: `requestWithLogin` against a bare `wx.request`, shipped build. */
export interface ClientRun {
  jitless: boolean;
  requests: number;
  rounds: number;
  /** kit time ÷ bare time per round (main thread): the median and the range over the rounds. */
  ratio: { median: number; min: number; max: number };
  /** Median time per request, µs. */
  microsecondsPerRequest: { bare: number; kit: number };
  /** Promises and timers one request creates (counted with async_hooks). */
  perRequest: Record<'bare' | 'kit', { promises: number; timers: number }>;
}

export interface LoadResult {
  requests: number;
  wallClockPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

interface ServerRun {
  connections: number;
  warmup: number;
  login: LoadResult;
  refresh: LoadResult;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const markdownTable = (header: string[], rows: Array<Array<string | number>>) =>
  [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Each README section, as markdown. */
export function renderSections(r: BenchResults): Record<string, string> {
  const s = r.server.sqlite;
  const serverRow = (name: string, x: LoadResult) => [
    name,
    x.requests,
    x.wallClockPerSecond,
    `${x.p50Ms} ms`,
    `${x.p99Ms} ms`,
    x.non2xx + x.errors,
  ];
  return {
    machine: `Measured by \`npm run bench\` on ${r.machine.cpus} vCPUs (${r.machine.cpu ?? 'unknown CPU'}), Node ${r.machine.node}, ${r.startedAt.slice(0, 10)}.`,
    bursts: markdownTable(
      [
        'burst',
        'new user: `wx.login` / backend logins / UI',
        'returning user: `wx.login` / backend logins / UI',
        'expired token: refreshes / `wx.login`',
      ],
      r.bursts.map((b) => [
        b.burst,
        `${b.newUser.wxLogin} / ${b.newUser.backendLogin} / ${b.newUser.ui}`,
        `${b.returningUser.wxLogin} / ${b.returningUser.backendLogin} / ${b.returningUser.ui}`,
        `${b.expiredToken.refresh} / ${b.expiredToken.wxLogin}`,
      ]),
    ),
    steady:
      `Steady state over ${r.steady.requests} authenticated requests: **${r.steady.perRequest.checkSession}** \`wx.checkSession\`, ` +
      `**${r.steady.perRequest.wxLogin}** \`wx.login\`, **${r.steady.perRequest.storageReads}** storage reads per request.`,
    client:
      `\`requestWithLogin\` against a bare \`wx.request\` on the build that ships (\`miniprogram_dist\`, ES2015), with a fresh ` +
      `session, on a minimal fake \`wx\` that answers on the next macrotask; one process per variant; rounds interleave ` +
      `the two paths; ratio = kit time ÷ bare time per round on the main thread, median [min–max]; promises and timers ` +
      `counted per request (async_hooks), not timed.\n\n` +
      markdownTable(
        ['variant', 'rounds × requests', 'ratio, median [range]', 'time per request: bare / kit', 'promises: bare / kit', 'timers: kit'],
        (['jit', 'jitless'] as const).map((variant) => {
          const c = r.client[variant];
          return [
            variant === 'jit' ? 'JIT (V8 as on Android)' : '`--jitless` (as on iOS: no JIT)',
            `${c.rounds} × ${c.requests}`,
            `**${c.ratio.median}x** [${c.ratio.min}–${c.ratio.max}]`,
            `${c.microsecondsPerRequest.bare} µs / ${c.microsecondsPerRequest.kit} µs`,
            `${c.perRequest.bare.promises} / ${c.perRequest.kit.promises}`,
            c.perRequest.kit.timers,
          ];
        }),
      ),
    outputs: markdownTable(
      ['output (same sources)', 'runs on', 'entry: minified / gzipped', 'ratio JIT / `--jitless`'],
      [
        [
          'ES2015, one file for core + hub + entry (esbuild; **ships**)',
          'base library 2.11.0 and later',
          `${kb(r.size.entry.minifiedBytes)} / ${kb(r.size.entry.gzipBytes)}`,
          `${r.client.jit.ratio.median}x / ${r.client.jitless.ratio.median}x`,
        ],
        [
          'ES5, a file per module (tsc; the layout of 0.1)',
          'base library 2.10.4 and later (the minimum of 0.1)',
          `${kb(r.outputs.es5PerFile.entry.minifiedBytes)} / ${kb(r.outputs.es5PerFile.entry.gzipBytes)}`,
          `${r.outputs.es5PerFile.client.jit.ratio.median}x / ${r.outputs.es5PerFile.client.jitless.ratio.median}x`,
        ],
        [
          'ES2017, same units as shipped (esbuild; native `async`)',
          'base library 2.20.2 and later (iOS 11, Chrome 66); older only with DevTools\' "将 JS 编译成 ES5"',
          `${kb(r.outputs.es2017.entry.minifiedBytes)} / ${kb(r.outputs.es2017.entry.gzipBytes)}`,
          `${r.outputs.es2017.client.jit.ratio.median}x / ${r.outputs.es2017.client.jitless.ratio.median}x`,
        ],
      ],
    ),
    limiter: markdownTable(
      ['tasks queued on one slot', 'time per task to drain'],
      r.limiter.map((row) => [row.queued.toLocaleString('en-US'), `${row.microsecondsPerTask} µs`]),
    ),
    size: markdownTable(
      [
        'entry (its module graph in `miniprogram_dist`)',
        'files',
        'as built (ES2015, unminified)',
        'minified (terser)',
        'minified + gzip -9',
      ],
      (
        [
          ['core alone (`lib/` built by itself; it ships inside the entry)', r.size.core],
          ['package entry: core + hub + page UI', r.size.entry],
          ['AuthModal (js graph + wxml + wxss + json)', r.size.authModal],
          ['login page (same)', r.size.loginPage],
          ['`miniprogram-login-kit/adapters`', r.size.adapters],
        ] as const
      ).map(([name, x]) => [name, x.files, kb(x.rawBytes), kb(x.minifiedBytes), kb(x.gzipBytes)]),
    ),
    server:
      `Warm runs: ${s.warmup} requests of each kind first (discarded), then ${s.login.requests} measured, ${s.connections} connections ` +
      `from a second process on the same machine; req/s is wall clock (requests ÷ elapsed time). Login includes the ` +
      `\`code2Session\` round trip to the emulator, which runs in the server's process.\n\n` +
      markdownTable(
        ['store / endpoint', 'requests', 'req/s', 'p50', 'p99', 'failed'],
        [
          serverRow('SQLite: `POST /auth/login` (silent, returning user)', r.server.sqlite.login),
          serverRow('SQLite: `POST /auth/refresh` (rotation, reuse detection)', r.server.sqlite.refresh),
          serverRow('Postgres: `POST /auth/login`', r.server.postgres.login),
          serverRow('Postgres: `POST /auth/refresh`', r.server.postgres.refresh),
        ],
      ),
  };
}

/** `readme` with each marked section replaced by its rendering. Throws when a marker is missing. */
export function withSections(readme: string, sections: Record<string, string>): string {
  let text = readme;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- bench:${name} -->)[\\s\\S]*?(<!-- /bench:${name} -->)`);
    if (!pattern.test(text)) throw new Error(`README.md has no <!-- bench:${name} --> section`);
    text = text.replace(pattern, (_, open: string, close: string) => `${open}\n${body}\n${close}`);
  }
  return text;
}
