/**
 * Damage found in a capture file: names the file and the byte offset, so the user can look. A file
 * that could not be opened at all has no offset worth naming (it is 0).
 */
export class CaptureError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly code: string,
    detail: string,
  ) {
    super(code === 'capture.open_failed' ? `${file}: ${detail}` : `${file}: ${detail} at byte offset ${offset}`);
    this.name = 'CaptureError';
  }
}
