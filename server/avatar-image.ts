/**
 * What an uploaded avatar must be: a PNG, JPEG or WebP image — by its content, never by the type the client declared —
 * whose header declares at most `MAX_AVATAR_SIDE` pixels a side. The dimensions come from the header alone (through
 * the well-kept `probe-image-size`, which reads no pixel), so a decompression bomb — a small file that decodes to
 * hundreds of megabytes — is refused before anything decodes it.
 */
import probeImageSize from 'probe-image-size/sync';

/** The largest width and height accepted, in pixels: 4096 × 4096 is 16.8 megapixels, 64 MB decoded as RGBA. */
export const MAX_AVATAR_SIDE = 4096;

/** The content types accepted, by `probe-image-size`'s MIME type. */
const ACCEPTED = ['image/png', 'image/jpeg', 'image/webp'];

/** An avatar the server accepts: its content type and its dimensions (px). */
export interface AvatarImage {
  contentType: string;
  width: number;
  height: number;
}

/**
 * Checks an uploaded file. Resolves the content type to store and serve it with, or a reason to refuse it (`refused`,
 * a sentence for the 400 answer): not such an image, an unreadable header, or a side above `MAX_AVATAR_SIDE`.
 */
export function checkAvatarImage(data: Buffer): AvatarImage | { refused: string } {
  const probed = probeImageSize(data);
  if (!probed || ACCEPTED.indexOf(probed.mime) < 0) return { refused: 'the avatar must be a PNG, JPEG or WebP image' };
  if (probed.width > MAX_AVATAR_SIDE || probed.height > MAX_AVATAR_SIDE) {
    return { refused: `the avatar is ${probed.width} × ${probed.height} px; at most ${MAX_AVATAR_SIDE} × ${MAX_AVATAR_SIDE} is accepted` };
  }
  return { contentType: probed.mime, width: probed.width, height: probed.height };
}
