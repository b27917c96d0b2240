// JSON API client. Parameters are passed as URLSearchParams; arrays repeat the key.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, String(x));
    else q.append(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

export async function api(path, params) {
  const res = await fetch(`/api/${path}${query(params)}`, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) throw new ApiError(res.status, (body && body.message) || res.statusText);
  return body;
}
