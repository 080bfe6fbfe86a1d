/**
 * What a development backend says when it starts (`npm run server`, `npx miniprogram-login-kit dev`): where it listens,
 * what it serves and the exact `Login.config({...})` lines to paste; and what to do when its port is taken.
 */

/** What `devBanner` prints. */
export interface BannerFacts {
  /** What runs, e.g. `reference server + WeChat emulator (npm run server)`. */
  what: string;
  /** The backend's base URL, e.g. `http://127.0.0.1:3000`. */
  baseURL: string;
  /** The registration policy of the sources it serves. */
  registration: 'silent' | 'authorize';
  /** The `source` the pasted line uses (any other is served too when `anySource`). */
  source: string;
  /** Whether any `source` is served (development), not only `source`. */
  anySource: boolean;
  /** The WeChat stand-in's base URL. */
  wechatURL: string;
  /** Where the data lives, e.g. `in memory: forgotten when it stops`. */
  storage: string;
}

const POLICY = {
  authorize: 'authorize — a new user logs in through the AuthModal or the login page (contract 1.1)',
  silent: 'silent — a new user is registered on the first silent login, profile later (contract 1.2)',
};

/** The lines a development backend prints at start: what it is, what it serves, and the `Login.config` to paste. */
export function devBanner(facts: BannerFacts): string {
  return [
    `${facts.what} — for development only, never production`,
    `  baseURL       ${facts.baseURL}`,
    `  registration  ${POLICY[facts.registration]}`,
    `  sources       ${facts.anySource ? `any (your app's own source, e.g. '${facts.source}')` : `'${facts.source}' only`}`,
    `  WeChat        a stand-in on ${facts.wechatURL}; WeChat DevTools' own wx.login codes log in as one development user`,
    `  data          ${facts.storage}`,
    '',
    'Paste into app.js (onLaunch):',
    '',
    `  Login.config({ source: '${facts.source}', baseURL: '${facts.baseURL}' });`,
    '',
    'In WeChat DevTools: Details → Local Settings → "Does not verify valid domain names…" (不校验合法域名) on.',
  ].join('\n');
}

/**
 * The message for a port already in use (`EADDRINUSE`): which port, the likely cause and the two ways out.
 * @param restart the command that starts it on another port, e.g. `PORT=3001 npm run server`.
 */
export function portInUseMessage(host: string, port: number, restart: string): string {
  return (
    `port ${port} on ${host} is already in use — probably another development backend is still running. ` +
    `Stop it (Ctrl+C in its terminal), or start this one on another port: ${restart}`
  );
}

/** Whether `error` is Node's "address in use" error. */
export function isPortInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}
