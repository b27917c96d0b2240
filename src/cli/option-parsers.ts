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

/** `--threads`: 1 or 2. */
export function threadCount(text: string): 1 | 2 {
  if (text !== '1' && text !== '2') throw new InvalidArgumentError('expected 1 or 2');
  return Number(text) as 1 | 2;
}

export function severity(text: string): Severity {
  if (!SEVERITIES.includes(text as Severity)) throw new InvalidArgumentError(`expected one of ${SEVERITIES.join(', ')}`);
  return text as Severity;
}
