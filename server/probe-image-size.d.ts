/** Types of the part of `probe-image-size` the server uses (the package ships none). */
declare module 'probe-image-size/sync' {
  /** What the header says: dimensions in `wUnits`/`hUnits` (`px` for raster images), the type and its MIME type. */
  interface ProbeResult {
    width: number;
    height: number;
    type: string;
    mime: string;
    wUnits: string;
    hUnits: string;
    orientation?: number;
  }
  /** Reads the dimensions from the header of an image in `data`; null when no known format parses it. */
  function probeImageSize(data: Uint8Array): ProbeResult | null;
  export = probeImageSize;
}
