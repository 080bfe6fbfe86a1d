/**
 * The benchmark's load generator, run as a second process: POSTs each JSON body of a file once (bodies are
 * single-use: login codes, refresh tokens) to a server on 127.0.0.1 with autocannon, and prints the result as JSON.
 * Bounded: exactly as many requests as bodies, a fixed number of connections, a 60 s cap.
 *   node build/scripts/bench-load.js <url> <path> <bodies.json> <connections>
 */
import fs from 'fs';
import autocannon from 'autocannon';

async function main() {
  const [url, path, bodiesFile, connections] = process.argv.slice(2);
  const bodies: string[] = JSON.parse(fs.readFileSync(bodiesFile, 'utf8'));
  let next = 0;
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url,
    connections: Number(connections),
    amount: bodies.length,
    duration: 60,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  // autocannon reports on one-second ticks, so for short runs its duration (and wall time) over-counts; with
  // `connections` clients each sending back to back, throughput is connections / mean latency.
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    JSON.stringify({
      requests: result.requests.total,
      perSecond: Math.round((Number(connections) * 1000) / result.latency.mean),
      wallClockPerSecond: Math.round(result.requests.total / seconds),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
      durationS: Number(seconds.toFixed(2)),
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
