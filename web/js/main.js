// Entry point: routes the hash to a view, keeps the header in step, and listens for database changes
// (server-sent events, with /api/version polling as the fallback) to refresh what is on screen.
import { api } from './api.js';
import { h, mount } from './dom.js';
import { errorBox } from './format.js';
import { parseRoute } from './router.js';
import { renderOverview } from './views/overview.js';
import { renderFindings } from './views/findings.js';
import { renderFlows } from './views/flows.js';
import { renderFlow } from './views/flow.js';
import { renderEndpoints, renderEndpoint } from './views/endpoints.js';
import { renderCertificates, renderCertificate } from './views/certificates.js';
import { renderCredentials } from './views/credentials.js';
import { renderRequests } from './views/requests.js';

const VIEWS = {
  overview: { nav: 'overview', render: renderOverview, autoRefresh: true },
  findings: { nav: 'findings', render: renderFindings, autoRefresh: true },
  flows: { nav: 'flows', render: renderFlows, autoRefresh: false },
  flow: { nav: 'flows', render: renderFlow, autoRefresh: false },
  endpoints: { nav: 'endpoints', render: renderEndpoints, autoRefresh: false },
  endpoint: { nav: 'endpoints', render: renderEndpoint, autoRefresh: false },
  certificates: { nav: 'certificates', render: renderCertificates, autoRefresh: false },
  certificate: { nav: 'certificates', render: renderCertificate, autoRefresh: false },
  requests: { nav: 'requests', render: renderRequests, autoRefresh: false },
  credentials: { nav: 'credentials', render: renderCredentials, autoRefresh: false },
};

const root = document.getElementById('view');
const live = document.getElementById('live');
let renderSeq = 0;
let lastVersion = null;
let stale = false;

async function show() {
  const route = parseRoute();
  const view = VIEWS[route.view];
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', view && a.dataset.view === view.nav);
  const seq = ++renderSeq;
  stale = false;
  live.classList.remove('stale');
  if (!view) {
    mount(root, h('div', { class: 'empty' }, h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/' }, 'Back to the overview'))));
    return;
  }
  try {
    // Views render into a detached node so a slow response never overwrites a newer view.
    const next = h('div', { class: `view view-${route.view}` });
    await view.render(next, route);
    if (seq === renderSeq) mount(root, next);
  } catch (err) {
    if (seq === renderSeq) mount(root, errorBox(err));
  }
  if (seq === renderSeq) document.body.dataset.ready = route.view;
}

async function header() {
  try {
    const sum = await api('summary');
    const caps = sum.captures;
    const el = document.getElementById('capture');
    const label = caps.length === 0 ? 'no capture loaded' : caps.length === 1 ? caps[0].file : `${caps.length} captures`;
    mount(el, label);
    el.title = caps.map((c) => `${c.file} (${c.status})`).join('\n');
  } catch {
    /* the view shows the error */
  }
}

function onVersion(v) {
  live.classList.toggle('on', Boolean(v.live));
  live.title = v.live ? 'live: a capture is being ingested' : 'up to date';
  if (lastVersion !== null && (v.maxFlowId !== lastVersion.maxFlowId || v.maxFindingId !== lastVersion.maxFindingId || v.findings !== lastVersion.findings || v.dataVersion !== lastVersion.dataVersion)) {
    const view = VIEWS[parseRoute().view];
    if (view && view.autoRefresh) void show();
    else {
      stale = true;
      live.classList.add('stale');
      live.title = 'new data: click to refresh';
    }
    void header();
  }
  lastVersion = v;
}

function listen() {
  if (typeof EventSource === 'function') {
    const es = new EventSource('/api/events');
    es.addEventListener('version', (ev) => {
      try {
        onVersion(JSON.parse(ev.data));
      } catch {
        /* ignore a malformed event */
      }
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) poll();
    };
  } else poll();
}

function poll() {
  setInterval(async () => {
    try {
      onVersion(await api('version'));
    } catch {
      /* server gone; keep trying */
    }
  }, 5000);
}

live.addEventListener('click', () => {
  if (stale) void show();
});
window.addEventListener('hashchange', () => void show());
void header();
void show();
listen();
