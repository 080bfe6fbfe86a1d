/**
 * A development backend started as its user starts it — a child process — and read from its output: `started`
 * resolves with everything it printed once `ready` matches, or rejects (with the output) when it exits first or
 * after 30 s. `stop()` ends that child only.
 */
import { spawn, type ChildProcess } from 'child_process';

export interface Spawned {
  child: ChildProcess;
  /** Standard output and error so far. */
  output(): string;
  /** Resolves with the output once it matches `ready`. */
  started: Promise<string>;
  /** Resolves with the exit code once the child exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function spawnNode(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Spawned {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ready} within 30 s; output:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${ready}; output:\n${out}`));
    });
  });
  started.catch(() => undefined);
  return {
    child,
    output: () => out,
    started,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
