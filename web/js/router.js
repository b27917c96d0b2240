// Hash routing: "#/flows?path=apiserver-to-kubelet&sort=bytes" — the address names the view and
// its filters, so an analyst can paste it into a report and land on the same table.

const MULTI = new Set(['path', 'app', 'state', 'severity', 'rule']);

export function parseRoute(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const pathPart = qi >= 0 ? raw.slice(0, qi) : raw;
  const params = {};
  for (const [k, v] of new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '')) {
    if (MULTI.has(k)) (params[k] ||= []).push(v);
    else params[k] = v;
  }
  const segs = pathPart.split('/').filter(Boolean).map((x) => {
    try {
      return decodeURIComponent(x);
    } catch {
      return x;
    }
  });
  return { view: segs[0] || 'overview', arg: segs[1] || null, params };
}

export function href(view, arg, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
    else q.append(k, String(v));
  }
  const qs = q.toString();
  const base = view === 'overview' ? '#/' : `#/${view}${arg !== null && arg !== undefined ? `/${encodeURIComponent(arg)}` : ''}`;
  return qs ? `${base}?${qs}` : base;
}

export function go(view, arg, params) {
  location.hash = href(view, arg, params);
}
