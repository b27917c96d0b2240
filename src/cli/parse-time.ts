/** Accepts epoch seconds or an ISO 8601 date/time; returns epoch seconds. */
export function parseTime(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${text} (use ISO 8601 or epoch seconds)`);
  return ms / 1000;
}
