import { InvalidArgumentError } from 'commander';
import { SEVERITIES, type Severity } from '../model/analysis';

/** Option value parsers shared by the commands: a bad value is a usage error (exit code 2). */

export function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function positiveInt(text: string): number {
  const n = positiveNumber(text);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Threads `--threads` may ask for at most (each analysis thread reads the whole file). */
export const MAX_THREADS = 16;

/** `--threads`: 1 to MAX_THREADS. */
export function threadCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_THREADS) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_THREADS}`);
  return n;
}

export function severity(text: string): Severity {
  if (!SEVERITIES.includes(text as Severity)) throw new InvalidArgumentError(`expected one of ${SEVERITIES.join(', ')}`);
  return text as Severity;
}
