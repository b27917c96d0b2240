/**
 * Zeek's log formats, for any log: the tab-separated ASCII form (with the `#fields`/`#types` header
 * that `zeek-cut` and Zeek log readers go by) and the JSON lines form. A log is its path (`conn`,
 * `http` …) and its fields with their Zeek types; a record is a value per field name, undefined where
 * Zeek leaves the field unset.
 */

export type ZeekValue = string | number | boolean | readonly (string | number)[] | undefined;
export type ZeekRecord = Map<string, ZeekValue>;

/**
 * The fields that open every log about a connection: when, its uid, and Zeek's `conn_id` (who
 * originated it to whom).
 */
export const CONNECTION_FIELDS = [
  ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
] as const;

/** A row's values of CONNECTION_FIELDS (a NULL column unset). */
export function connectionValues(r: {
  ts: number | null; uid: string | null; orig_h: string | null; orig_p: number | null; resp_h: string | null; resp_p: number | null;
}): [string, ZeekValue][] {
  return [['ts', orUnset(r.ts)], ['uid', orUnset(r.uid)], ['id.orig_h', orUnset(r.orig_h)], ['id.orig_p', orUnset(r.orig_p)],
    ['id.resp_h', orUnset(r.resp_h)], ['id.resp_p', orUnset(r.resp_p)]];
}

export interface ZeekLogSpec {
  /** The log's name in Zeek (`#path`), and its file name without `.log`. */
  path: string;
  /** Field names and Zeek types, in the log's order. */
  fields: readonly (readonly [string, string])[];
}

/** Zeek's ASCII escaping: a control character or a backslash (in a container's element, also its separator) as \xNN. */
function escape(s: string, inContainer: boolean): string {
  return s.replace(inContainer ? /[\u0000-\u001f\u007f\\,]/g : /[\u0000-\u001f\u007f\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One scalar as Zeek writes it: times and intervals to the microsecond, booleans T/F. */
function scalarText(v: string | number | boolean, type: string, inContainer: boolean): string {
  if (type === 'time' || type === 'interval') return (v as number).toFixed(6);
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  const s = String(v);
  if (s === '' && !inContainer) return '(empty)';
  return type === 'string' || type === 'enum' ? escape(s, inContainer) : s;
}

function tsvValue(v: ZeekValue, type: string): string {
  if (v === undefined) return '-';
  if (Array.isArray(v)) {
    if (v.length === 0) return '(empty)';
    // set[string], vector[interval] …: the element's type.
    const elementType = /\[(.+)\]$/.exec(type)?.[1] ?? 'string';
    return v.map((e) => scalarText(e, elementType, true)).join(',');
  }
  return scalarText(v as string | number | boolean, type, false);
}

/** Zeek's log time stamp for `#open`/`#close`: local date and time to the second, dashes between. */
function logTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** The lines of a tab-separated log: Zeek's header, a line per record, the `#close` line. */
export function* zeekTsvLines(spec: ZeekLogSpec, records: Iterable<ZeekRecord>, now = () => new Date()): Generator<string> {
  yield ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', `#path\t${spec.path}`,
    `#open\t${logTime(now())}`, `#fields\t${spec.fields.map((f) => f[0]).join('\t')}`,
    `#types\t${spec.fields.map((f) => f[1]).join('\t')}`].join('\n') + '\n';
  for (const r of records) yield spec.fields.map(([name, type]) => tsvValue(r.get(name), type)).join('\t') + '\n';
  yield `#close\t${logTime(now())}\n`;
}

/**
 * The lines of Zeek's JSON logs: one object a line, in the log's field order; unset fields left out
 * (an empty set is `[]`, as Zeek writes it).
 */
export function* zeekJsonLines(spec: ZeekLogSpec, records: Iterable<ZeekRecord>): Generator<string> {
  for (const r of records) {
    const o: Record<string, ZeekValue> = {};
    for (const [name] of spec.fields) {
      const v = r.get(name);
      if (v !== undefined) o[name] = v;
    }
    yield JSON.stringify(o) + '\n';
  }
}

/** `application/json; charset=utf-8` → `application/json`: the media type alone, as Zeek's *_mime_types list them. */
export function mediaType(contentType: string | null): string | undefined {
  if (contentType === null) return undefined;
  const t = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return t === '' ? undefined : t;
}

/** A column's NULL as Zeek's unset. */
export const orUnset = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** Seconds to the microsecond (Zeek's intervals), so that float noise does not show. */
export function micros(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

/** Each row as a record, lazily (rows come from a database cursor). */
export function* mapRows<R>(rows: Iterable<R>, fields: (r: R) => ZeekRecord): Generator<ZeekRecord> {
  for (const r of rows) yield fields(r);
}

/** Zeek's two log formats: tab-separated ASCII, or JSON lines. */
export type ZeekFormat = 'zeek' | 'zeek-json';

/** The lines of a log of `rows` (each made a record by `fields`) in either format. */
export function zeekLogLines<R>(spec: ZeekLogSpec, fields: (r: R) => ZeekRecord, rows: Iterable<R>, format: ZeekFormat,
  now = () => new Date()): Generator<string> {
  const records = mapRows(rows, fields);
  return format === 'zeek' ? zeekTsvLines(spec, records, now) : zeekJsonLines(spec, records);
}
