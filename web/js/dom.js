// DOM building without HTML parsing: every string becomes a text node or a checked attribute value,
// so data from the wire (SNI, user agents, paths, certificate subjects) can never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Attributes the views may set; event handler attributes (on*) and style are never among them. */
const SAFE_ATTRS = new Set([
  'class', 'id', 'title', 'role', 'type', 'name', 'value', 'placeholder', 'for', 'colspan', 'rowspan', 'tabindex',
  'min', 'max', 'step', 'size', 'maxlength', 'lang', 'dir', 'scope', 'rel', 'target', 'width', 'height',
  'viewBox', 'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'rx', 'ry', 'd', 'points', 'fill', 'stroke',
  'stroke-width', 'stroke-linecap', 'stroke-dasharray', 'opacity', 'fill-opacity', 'stroke-opacity', 'text-anchor',
  'dominant-baseline', 'font-size', 'font-weight', 'transform', 'marker-end', 'preserveAspectRatio', 'pointer-events',
  'refX', 'refY', 'markerWidth', 'markerHeight', 'markerUnits', 'orient',
]);

/** Only same-page routes and http(s) links; `javascript:` and friends are dropped. */
export function safeHref(url) {
  if (typeof url !== 'string') return null;
  if (url.startsWith('#')) return url;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'href') {
      const href = safeHref(v);
      if (href) el.setAttribute('href', href);
    } else if (k === 'checked' || k === 'selected' || k === 'disabled') {
      el[k] = Boolean(v);
    } else if (SAFE_ATTRS.has(k) || k.startsWith('data-') || k.startsWith('aria-')) {
      el.setAttribute(k, v === true ? '' : String(v));
    } else {
      throw new Error(`attribute not allowed: ${k}`);
    }
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** h('div', { class: 'x' }, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function mount(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}
