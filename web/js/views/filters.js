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
