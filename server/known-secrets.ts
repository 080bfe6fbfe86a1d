/**
 * JWT secrets that sign nothing real: every secret ever committed to this repository (tests, the development stack,
 * the demo, the benchmark, the docs), and secrets too uniform to be random. `test/server/secrets.test.ts` scans the
 * repository for secret literals and fails when one is missing here.
 */

/** Every JWT secret committed to this repository, in any commit. */
export const COMMITTED_SECRETS: readonly string[] = [
  'development-only-secret-change-me-0123456789',
  'development-stack-secret-'.padEnd(40, 'x'), // scripts/stack.ts
  'demo-only-secret-'.padEnd(40, '0'),
  'bench-only-secret-'.padEnd(40, 'x'),
  'a-deployment-secret-of-its-own-0123456789',
  'the-secret-all-instances-share-0123456789',
  'the-secret-both-instances-share-0123456789', // test/server/refresh-idempotent.test.ts
  'an-operators-test-secret-of-its-own-0123456789',
];

/** Fewer distinct characters than this is no random secret (`'x'.repeat(32)`); 32 random base64 characters have ~25. */
const MIN_DISTINCT_CHARACTERS = 12;

/** Why `secret` must not sign production tokens, or null when nothing speaks against it. */
export function knownSecretReason(secret: string): string | null {
  if (COMMITTED_SECRETS.indexOf(secret) >= 0) return 'it is committed to the miniprogram-login-kit repository';
  if (new Set(secret).size < MIN_DISTINCT_CHARACTERS) return `it has fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters`;
  return null;
}
