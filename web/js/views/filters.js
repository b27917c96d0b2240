// Small form controls shared by the list views; every change rewrites the address (deep links).
import { h } from '../dom.js';

export function select(name, label, options, value, onChange) {
  const el = h('select', { name, 'aria-label': label, on: { change: () => onChange(el.value || undefined) } },
    h('option', { value: '' }, `${label}: any`),
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, selected: v === value }, text);
    }));
  return h('label', { class: 'field' }, el);
}

export function input(name, label, value, onChange, attrs = {}) {
  const el = h('input', { name, type: 'search', placeholder: label, 'aria-label': label, value: value ?? '', ...attrs });
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') onChange(el.value.trim() || undefined);
  });
  el.addEventListener('change', () => onChange(el.value.trim() || undefined));
  return h('label', { class: 'field' }, el);
}

export function first(v) {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Time as the tables show it (UTC, "2026-03-02 10:00:00.5", a trailing Z optional) or epoch seconds
 * → epoch seconds; undefined for an empty field, NaN for text that is not a time.
 */
export function parseTime(text) {
  if (text === undefined || text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const iso = text.replace(' ', 'T');
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(ms) ? NaN : ms / 1000;
}

/** A time field: shows the bound as UTC, reads it back with parseTime; text that is no time is marked invalid. */
export function timeInput(name, label, seconds, onChange) {
  const shown = seconds === undefined || seconds === '' ? '' : new Date(Number(seconds) * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
  const wrap = input(name, label, shown, (v) => {
    const t = parseTime(v);
    const el = wrap.querySelector('input');
    if (Number.isNaN(t)) {
      el.setAttribute('aria-invalid', 'true');
      el.title = 'a UTC time such as 2026-03-02 10:00:00, or epoch seconds';
      return;
    }
    onChange(t === undefined ? undefined : String(t));
  }, { size: 20, title: 'UTC, e.g. 2026-03-02 10:00:00, or epoch seconds' });
  return wrap;
}
