// Shared by the dashboard's pages: the read-only token, API calls, formatting and DOM helpers.
//
// The token travels in the URL fragment (#token=rlt_...): browsers never send a fragment to a
// server or put it in a Referer, so it reaches no log. It leaves the page only as the
// x-functions-key header of the page's own API calls. Nothing is stored in the browser, and the
// page never asks for a key: opened without a token it still works where the API is open
// (local development).
// Every piece of data reaches the page through textContent or attributes set on elements made
// with createElement: no data is ever parsed as HTML.

export const token = readToken(location.hash);

function readToken(hash) {
  for (const part of hash.replace(/^#/, '').split('&')) {
    if (part.startsWith('token=')) {
      try { return decodeURIComponent(part.slice(6)); } catch { return part.slice(6); }
    }
  }
  return '';
}

/**
 * What the read token says of itself: { projectId, runId (null for a project link), expiresAt }.
 * For display only (which links to offer, when it expires); the API checks the signature.
 */
export function tokenScope() {
  const match = /^rlt_([A-Za-z0-9_-]+)\./.exec(token);
  if (!match) return null;
  try {
    const base64 = match[1].replace(/-/g, '+').replace(/_/g, '/');
    const payload = JSON.parse(atob(base64 + '='.repeat((4 - base64.length % 4) % 4)));
    return {
      projectId: String(payload.p ?? ''),
      runId: payload.r === undefined || payload.r === null ? null : String(payload.r),
      expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000).toISOString() : null,
    };
  } catch {
    return null;
  }
}

// The pages live at {prefix}/dashboard/..., the API at {prefix}/... (normally /api). Ids may be any
// word, 'dashboard', 'projects', 'runs' and 'api' among them, so the page finds its place by
// matching the end of its own path against the routes it is served on, segment by segment: the
// prefix is whatever comes before the matched route, and nothing is searched for.
const routes = [
  ['statement', ['dashboard', 'projects', ':projectId', 'statements', ':month']],
  ['run', ['dashboard', 'projects', ':projectId', 'runs', ':runId']],
  ['project', ['dashboard', 'projects', ':projectId']],
  ['costs', ['dashboard', 'costs']],
];

function decode(segment) {
  try { return decodeURIComponent(segment); } catch { return segment; }
}

/** Which page a path is and its ids: { name, projectId?, runId?, prefix }, or null for a path no route serves. */
export function parseRoute(pathname) {
  const segments = pathname.split('/').slice(1); // the path starts with '/'
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop(); // one trailing slash
  for (const [name, shape] of routes) {
    if (segments.length < shape.length) continue;
    const at = segments.length - shape.length;
    const found = { name, prefix: segments.slice(0, at).map(s => '/' + s).join('') };
    const matches = shape.every((part, i) => {
      const segment = segments[at + i];
      if (!part.startsWith(':')) return segment.toLowerCase() === part; // routes match literals in any case
      found[part.slice(1)] = decode(segment);
      return segment.length > 0;
    });
    if (matches) return found;
  }
  return null;
}

/** This page: { name, projectId, runId } from its own route. */
export const page = parseRoute(location.pathname) ?? { name: null, prefix: '/api' };
export const apiBase = page.prefix;
const dashboardBase = page.prefix + '/dashboard/';

/** A link to another dashboard page that carries this page's token along. */
export function pageUrl(path, query = '') {
  return dashboardBase + path + query + (token ? '#token=' + encodeURIComponent(token) : '');
}

export const enc = encodeURIComponent;

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

/** GET {apiBase}{path} with the token; throws ApiError (with the problem's title and detail) unless 2xx. */
export async function api(path, { accept = 'application/json', headers = {}, signal } = {}) {
  const all = { Accept: accept, ...headers };
  if (token) all['x-functions-key'] = token;
  let response;
  try {
    response = await fetch(apiBase + path, { headers: all, signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The ledger could not be reached', 'The request did not get an answer.');
  }
  if (!response.ok) {
    let title = response.statusText || 'Request failed', detail = '';
    try {
      const problem = await response.json();
      title = problem.title || title;
      detail = problem.detail || '';
    } catch { /* not problem+json */ }
    throw new ApiError(response.status, title, detail);
  }
  return response;
}

export async function getJson(path, options) {
  return (await api(path, options)).json();
}

/** What the viewer can do about an error, in a sentence. */
export function advice(error) {
  switch (error.status) {
    case 401: return 'This link is not valid: it may have expired or been altered. Ask whoever shared it for a new link.';
    case 403: return 'This link does not open this page: a link opens only the project or run it was made for. Ask for a link to this one.';
    case 404: return 'Nothing was found here. Check the project and run id in the address, or open the project page to pick a run.';
    case 0: case 502: case 503: case 504:
      return 'The ledger is unreachable or busy. Check your connection and reload the page in a moment.';
    default: return 'Reload the page. If it keeps failing, tell whoever runs the ledger, quoting the message above.';
  }
}

/** Creates an element: el('a', { href: url, className: 'x' }, 'text', child, ...). Text children become text nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className' || name === 'textContent' || name === 'hidden' || name === 'value' || name === 'max' || name === 'disabled') node[name] = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const svgNs = 'http://www.w3.org/2000/svg';
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces a container's content. */
export function show(container, ...children) {
  container.replaceChildren(...children.flat().filter(c => c !== null && c !== undefined && c !== false));
}

/** A state block (loading, empty, error) that says what is going on and what to do. */
export function stateBlock(kind, heading, ...lines) {
  return el('section', { className: `state state-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: { state: kind } },
    el('h2', {}, heading), ...lines.filter(Boolean).map(line => el('p', {}, line)));
}

export function loading(what) {
  return stateBlock('loading', `Loading ${what}…`, 'This takes a moment.');
}

export function errorBlock(error, what) {
  const status = error.status ? ` (${error.status})` : '';
  return stateBlock('error', `Could not load ${what}${status}`, `${error.title}${error.detail ? ': ' + error.detail : ''}`, advice(error));
}

// Status: always an icon and a word, never colour alone.
const statuses = {
  queued: { icon: '◷', label: 'Queued' },
  running: { icon: '▶', label: 'Running' },
  completed: { icon: '✓', label: 'Completed' },
  failed: { icon: '✕', label: 'Failed' },
  cancelled: { icon: '⊘', label: 'Cancelled' },
};
export const statusNames = Object.keys(statuses);

export function isActive(status) {
  return status === 'queued' || status === 'running';
}

export function statusBadge(status) {
  const known = statuses[status];
  return el('span', { className: `badge status-${known ? status : 'unknown'}`, dataset: { status: String(status ?? '') } },
    el('span', { className: 'badge-icon', 'aria-hidden': 'true' }, known ? known.icon : '?'),
    el('span', { className: 'badge-text' }, known ? known.label : String(status ?? 'unknown')));
}

export function statusLabel(status) {
  return statuses[status]?.label ?? String(status);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** A time in the viewer's zone, with the exact UTC time on hover (title) and in datetime. */
export function timeEl(iso, { short = false } = {}) {
  if (!iso) return el('span', { className: 'muted' }, '—');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return el('span', {}, String(iso));
  const utc = date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return el('time', { datetime: date.toISOString(), title: utc }, (short ? timeOnly : dateTime).format(date));
}

export function duration(fromIso, toIso) {
  if (!fromIso) return '—';
  const ms = (toIso ? new Date(toIso) : new Date()) - new Date(fromIso);
  if (!(ms >= 0)) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** US dollars with a fixed number of decimals (the API's amounts are exact to that many). */
export function money(value, decimals = 2) {
  if (value === undefined || value === null || value === '') return '—';
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(number);
}

export function number(value) {
  const n = Number(value);
  return Number.isFinite(n) ? new Intl.NumberFormat().format(n) : String(value ?? '—');
}

/** An http(s) URL, or null: only these become links (never javascript:, data: and the like). */
export function safeHttpUrl(text) {
  if (typeof text !== 'string') return null;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** A key/value list of an object's scalar fields (nested objects as JSON text). */
export function definitionList(object, className = 'facts') {
  const list = el('dl', { className });
  for (const [key, value] of Object.entries(object ?? {})) {
    if (value === null || value === undefined) continue;
    const href = safeHttpUrl(value);
    list.append(el('dt', {}, key), el('dd', {},
      href ? el('a', { href, rel: 'noopener noreferrer', target: '_blank' }, String(value))
        : typeof value === 'object' ? el('code', {}, JSON.stringify(value)) : String(value)));
  }
  return list;
}

export function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}
