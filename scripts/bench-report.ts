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
    cpuOverheadRatio: number;
    cpuMicrosecondsPerRequest: { bare: number; kit: number };
  };
  size: Record<'core' | 'authModal' | 'loginPage', { rawBytes: number; minifiedBytes: number; gzipBytes: number }>;
  server: Record<'sqlite' | 'postgres', ServerRun>;
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
      `**${r.steady.perRequest.wxLogin}** \`wx.login\`, **${r.steady.perRequest.storageReads}** storage reads per request. CPU per request ` +
      `(the tooling build, in-memory fake): ${r.steady.cpuMicrosecondsPerRequest.bare} µs for a bare \`wx.request\`, ` +
      `${r.steady.cpuMicrosecondsPerRequest.kit} µs through \`requestWithLogin\` (${r.steady.cpuOverheadRatio}x).`,
    size: markdownTable(
      ['what ships (built ES5)', 'built', 'minified (terser)', 'minified + gzipped'],
      [
        ['core: `lib/` + `hub/` + entry', kb(r.size.core.rawBytes), kb(r.size.core.minifiedBytes), kb(r.size.core.gzipBytes)],
        [
          'AuthModal (js + behaviour + wxml + wxss + json)',
          kb(r.size.authModal.rawBytes),
          kb(r.size.authModal.minifiedBytes),
          kb(r.size.authModal.gzipBytes),
        ],
        ['login page (same)', kb(r.size.loginPage.rawBytes), kb(r.size.loginPage.minifiedBytes), kb(r.size.loginPage.gzipBytes)],
      ],
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
