/** Random tokens and their stored form: refresh tokens and login tickets are random; only their SHA-256 is stored. */
import crypto from 'crypto';

/** Hex SHA-256 of `value`. */
export const sha256 = (value: string): string => crypto.createHash('sha256').update(value).digest('hex');
/** 256 random bits, base64url. */
export const randomToken = (): string => crypto.randomBytes(32).toString('base64url');
