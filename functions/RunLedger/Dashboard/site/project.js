// The project page: the project's runs newest first, paged, filtered by status, with counts per
// status; while runs are active the rows and counts refresh themselves by polling.
import {
  page, enc, getJson, el, show, loading, errorBlock, stateBlock, statusBadge, statusNames, statusLabel,
  timeEl, duration, money, number, isActive, pageUrl,
} from './common.js';
import { renderNav } from './nav.js';

const { projectId } = page;
const app = document.getElementById('app');
const pageSize = 20;
const pollMs = 3000;
renderNav(projectId, 'project');
document.title = `${projectId} · Run Ledger`;

let filter = '';          // '' = every status
let runs = [];            // rows shown, newest first
let next = null;          // continuationToken for the next page
let counts = null;        // { queued: n, ... } or null while unknown
let pollTimer = null;

const filters = el('div', { className: 'filters', role: 'group', 'aria-label': 'Filter by status' });
const listArea = el('div', { id: 'runs-area' });
const more = el('p', {});
const refreshed = el('p', { className: 'muted', role: 'status', id: 'refresh-state' });

start();

async function start() {
  show(app, loading(`the runs of ${projectId}`));
  try {
    await Promise.all([loadFirstPage(), loadCounts()]);
  } catch (error) {
    show(app, errorBlock(error, `the runs of project ${projectId}`));
    document.body.dataset.page = 'error';
    app.setAttribute('aria-busy', 'false');
    return;
  }
  show(app,
    el('section', { className: 'card', 'aria-labelledby': 'project-heading' },
      el('h1', { id: 'project-heading' }, 'Project ', el('span', { className: 'id' }, projectId)),
      filters, refreshed),
    el('section', { className: 'card', 'aria-label': 'Runs' }, listArea, more));
  app.setAttribute('aria-busy', 'false');
  document.body.dataset.page = 'ready';
  render();
  schedulePoll();
}

function listPath(limit, token) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (filter) query.set('status', filter);
  if (token) query.set('continuationToken', token);
  return `/projects/${enc(projectId)}/runs?${query}`;
}

async function loadFirstPage() {
  const page = await getJson(listPath(pageSize));
  runs = page.items ?? [];
  next = page.continuationToken ?? null;
}

async function loadMore() {
  more.querySelector('button')?.setAttribute('aria-busy', 'true');
  try {
    const page = await getJson(listPath(pageSize, next));
    runs = runs.concat(page.items ?? []);
    next = page.continuationToken ?? null;
    render();
    // Keep keyboard focus where the new rows start.
    document.querySelector(`#runs tbody tr:nth-child(${runs.length - (page.items ?? []).length + 1}) a`)?.focus();
  } catch (error) {
    show(more, errorBlock(error, 'more runs'));
  }
}

// Counts per status and of stale active runs: one point read (GET .../runs/counts).
async function loadCounts() {
  const answer = await getJson(`/projects/${enc(projectId)}/runs/counts`);
  counts = Object.fromEntries(statusNames.map(s => [s, Number(answer[s] ?? 0)]));
  counts.all = Number(answer.total ?? 0);
  counts.stale = Number(answer.stale ?? 0);
}

/** A selector for the focused control, so a re-render (every poll) keeps keyboard focus in place. */
function focusKey(node) {
  if (!node || node === document.body) return null;
  if (node.dataset?.filter) return `[data-filter="${node.dataset.filter}"]`;
  if (node.id) return `#${CSS.escape(node.id)}`;
  const tr = node.closest?.('tr[data-run-id]');
  return tr ? `tr[data-run-id="${CSS.escape(tr.dataset.runId)}"] a` : null;
}

function render() {
  const focused = focusKey(document.activeElement);
  renderRows();
  if (focused) document.querySelector(focused)?.focus();
}

function renderRows() {
  renderFilters();
  if (runs.length === 0) {
    show(listArea, stateBlock('empty',
      filter ? `No ${statusLabel(filter).toLowerCase()} runs` : 'No runs yet',
      filter ? 'Choose “All” to see the project\'s other runs.'
        : 'Runs appear here as soon as a pipeline is started for this project (POST /api/pipelines); this page updates by itself.'));
  } else {
    show(listArea, el('div', { className: 'table-wrap' }, el('table', { id: 'runs', className: 'cards' },
      el('caption', {}, filter ? `${statusLabel(filter)} runs, newest first` : 'Runs, newest first'),
      el('thead', {}, el('tr', {}, ['Run', 'Dossier', 'Status', 'Step', 'Progress', 'Started', 'Duration', 'Total cost'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, runs.map(row)))));
  }
  show(more, next
    ? el('button', { type: 'button', id: 'load-more', onclick: loadMore }, `Show ${pageSize} more`)
    : runs.length > 0 ? el('span', { className: 'muted', id: 'end-of-list' }, `All ${runs.length} ${filter ? statusLabel(filter).toLowerCase() + ' ' : ''}runs shown.`) : null);
}

function row(run) {
  const progress = Number(run.progress ?? 0);
  return el('tr', { dataset: { runId: run.runId, status: run.status } },
    el('td', { 'data-label': 'Run' }, el('a', { href: pageUrl(`projects/${enc(projectId)}/runs/${enc(run.runId)}`) }, run.runId)),
    el('td', { 'data-label': 'Dossier' }, run.dossierId ?? '—'),
    el('td', { 'data-label': 'Status' }, statusBadge(run.status), run.stale ? el('span', { className: 'stale' }, ' stale') : null),
    el('td', { 'data-label': 'Step' }, run.step ?? '—'),
    el('td', { 'data-label': 'Progress' },
      el('progress', { max: 100, value: progress, 'aria-label': `Progress of ${run.runId}` }), ` ${number(progress)} %`),
    el('td', { 'data-label': 'Started' }, timeEl(run.startedAt ?? run.createdAt)),
    el('td', { 'data-label': 'Duration' }, duration(run.startedAt, run.completedAt)),
    el('td', { 'data-label': 'Total cost', className: 'num' }, money(run.totalCost, 4)));
}

function renderFilters() {
  const options = [['', 'All', counts?.all], ...statusNames.map(s => [s, statusLabel(s), counts?.[s]])];
  show(filters, options.map(([value, label, count]) => el('button', {
    type: 'button',
    className: 'filter',
    'aria-pressed': String(filter === value),
    dataset: { filter: value || 'all' },
    onclick: () => choose(value),
  }, value ? statusBadge(value) : label, ' ', el('span', { className: 'count', dataset: { count: String(count ?? '') } },
    count === undefined ? '…' : number(count)))),
  counts?.stale > 0 ? el('p', { className: 'stale', id: 'stale-count' },
    `${number(counts.stale)} active run${counts.stale === 1 ? ' has' : 's have'} had no report for a while (stale).`) : null);
}

async function choose(value) {
  if (value === filter) return;
  filter = value;
  show(listArea, loading(value ? `${statusLabel(value).toLowerCase()} runs` : 'runs'));
  show(more);
  try {
    await loadFirstPage();
    render();
    filters.querySelector(`[data-filter="${value || 'all'}"]`)?.focus();
  } catch (error) {
    show(listArea, errorBlock(error, 'the runs'));
  }
}

// Live rows: while any run is queued or running, re-read the rows shown (up to 100) and the counts.
function schedulePoll() {
  clearTimeout(pollTimer);
  const active = runs.some(r => isActive(r.status)) || (counts && (counts.queued > 0 || counts.running > 0));
  refreshed.textContent = active ? 'Active runs update every few seconds.' : '';
  if (!active) return;
  // A hidden tab polls nobody's screen: wait until it is shown again.
  if (document.hidden) document.addEventListener('visibilitychange', () => schedulePoll(), { once: true });
  else pollTimer = setTimeout(poll, pollMs);
}

async function poll() {
  try {
    const asked = filter;
    const shown = Math.min(100, Math.max(pageSize, runs.length));
    const page = await getJson(listPath(shown));
    await loadCounts();
    // The viewer changed the filter meanwhile: these rows are for the old one.
    if (asked !== filter) {
      schedulePoll();
      return;
    }
    const fresh = page.items ?? [];
    if (runs.length <= 100) {
      runs = fresh;
      next = page.continuationToken ?? null;
    } else {
      runs = fresh.concat(runs.slice(100));
    }
    render();
  } catch (error) {
    refreshed.textContent = `Could not refresh (${error.title}); trying again shortly.`;
  }
  schedulePoll();
}
