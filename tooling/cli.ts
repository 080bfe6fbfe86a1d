/**
 * `npx miniprogram-login-kit dev`: the package's development backend (`startBackend`: the contract for any `source`,
 * in memory, beside the WeChat stand-in; WeChat DevTools' own codes log in as one development user). Prints what it
 * serves and the `Login.config` line to paste; refuses `NODE_ENV=production`. Ctrl+C stops it.
 */
import { devBanner, isPortInUse, portInUseMessage } from './banner';
import { startBackend } from './testing';

const USAGE = `usage: npx miniprogram-login-kit dev [options]

  --port <n>             port (default 3000)
  --host <address>       address to listen on (default 127.0.0.1; 0.0.0.0 for a phone on the same network)
  --registration <p>     authorize (default: a new user logs in through the kit's UI) or silent (registered at once)
  --access-ttl <s>       access-token lifetime in seconds (default 900)
  --source <name>        the source named in the printed Login.config line (default my-app; every source is served)`;

/** The options of `dev`, parsed from `argv` (after the command). @throws Error naming a bad option. */
export function parseDevArgs(argv: string[]): {
  port: number;
  host: string;
  registration: 'silent' | 'authorize';
  accessTtl?: number;
  source: string;
} {
  const options = {
    port: 3000,
    host: '127.0.0.1',
    registration: 'authorize' as 'silent' | 'authorize',
    accessTtl: undefined as number | undefined,
    source: 'my-app',
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const count = (name: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${JSON.stringify(value)}`);
      return n;
    };
    if (flag === '--port') options.port = count('--port');
    else if (flag === '--host') options.host = value;
    else if (flag === '--access-ttl') options.accessTtl = count('--access-ttl');
    else if (flag === '--source') options.source = value;
    else if (flag === '--registration') {
      if (value !== 'silent' && value !== 'authorize')
        throw new Error(`--registration must be silent or authorize, got ${JSON.stringify(value)}`);
      options.registration = value;
    } else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'dev') {
    console.error(USAGE);
    process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 1);
  }
  let options;
  try {
    options = parseDevArgs(rest);
  } catch (error) {
    console.error(`miniprogram-login-kit dev: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(1);
  }
  try {
    const backend = await startBackend({
      port: options.port,
      host: options.host,
      registration: options.registration,
      accessTtlSeconds: options.accessTtl,
      acceptDevtoolsCodes: true,
    });
    console.log(
      devBanner({
        what: 'miniprogram-login-kit dev: the development backend of the package',
        baseURL: backend.baseURL,
        registration: backend.registration,
        source: options.source,
        anySource: true,
        wechatURL: backend.wechat.baseURL,
        storage: 'in memory: forgotten when it stops (Ctrl+C)',
      }),
    );
    const stop = () => void backend.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (error) {
    console.error(
      isPortInUse(error)
        ? portInUseMessage(options.host, options.port, `npx miniprogram-login-kit dev --port ${options.port + 1}`)
        : (error as Error).message,
    );
    process.exit(1);
  }
}

if ((require as unknown as NodeJS.Require).main === module) void main(process.argv.slice(2));
