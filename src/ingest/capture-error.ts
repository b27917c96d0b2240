/** Damage found in a capture file: names the file and the byte offset, so the user can look. */
export class CaptureError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly code: string,
    detail: string,
  ) {
    super(`${file}: ${detail} at byte offset ${offset}`);
    this.name = 'CaptureError';
  }
}
