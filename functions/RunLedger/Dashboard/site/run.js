// The run page: status, the live timeline (Server-Sent Events), artifacts, voice and music
// metadata, cost rows and the invoice with a CSV download; a failed run's error first.
import {
  page, enc, getJson, api, el, show, loading, errorBlock, statusBadge, timeEl, duration,
  money, number, safeHttpUrl, definitionList, pageUrl, tokenScope,
} from './common.js';
import { followEvents } from './sse.js';
import { renderNav } from './nav.js';

const { projectId, runId } = page;
const runPath = `/projects/${enc(projectId)}/runs/${enc(runId)}`;
const app = document.getElementById('app');
renderNav(projectId, 'run');
document.title = `${runId} · Run Ledger`;

const artifactFields = ['payloadKey', 'narrationKey', 'musicKey', 'beatGridKey', 'finalVideoKey', 'exportBundleKey', 'videoUrl', 'creditsUrl'];

// The page's sections; the live parts are filled in place as data arrives.
const summary = el('section', { className: 'card run-summary', 'aria-labelledby': 'run-heading' });
const failure = el('div', { id: 'run-error' });
const streamState = el('p', { className: 'stream-state', role: 'status', 'aria-live': 'polite', id: 'stream-state' });
const timelineList = el('ol', { className: 'timeline', id: 'timeline' });
const timelineEmpty = el('p', { className: 'muted', id: 'timeline-empty' }, 'No events yet: agents have not reported. The timeline fills in as they do; no need to reload.');
const artifacts = el('section', { className: 'card', 'aria-labelledby': 'artifacts-heading' });
const metadata = el('section', { className: 'card', 'aria-labelledby': 'metadata-heading' });
const costs = el('section', { className: 'card', 'aria-labelledby': 'costs-heading', id: 'costs' });

let run = null;

start();

async function start() {
  show(app, loading('the run'));
  try {
    run = await getJson(runPath);
  } catch (error) {
    show(app, errorBlock(error, `run ${runId}`));
    document.body.dataset.page = 'error';
    app.setAttribute('aria-busy', 'false');
    return;
  }
  show(app,
    failure, summary,
    el('section', { className: 'card', 'aria-labelledby': 'timeline-heading' },
      el('h2', { id: 'timeline-heading' }, 'Timeline'), streamState, timelineEmpty, timelineList),
    el('div', { className: 'columns' }, artifacts, metadata),
    costs);
  app.setAttribute('aria-busy', 'false');
  document.body.dataset.page = 'ready';
  renderRun();
  refreshCosts();
  followEvents(`${runPath}/events`, {
    onEvent: addEvent,
    onEnd: () => { refreshSoon(0); },
    onState: state => {
      streamState.dataset.state = state;
      streamState.textContent = state === 'live' ? 'Live: updates appear as agents report.'
        : state === 'reconnecting' ? 'Connection lost; reconnecting… Events missed meanwhile will follow.'
        : 'This run is finished; the timeline is complete.';
    },
    onFatal: error => show(streamState, `Live updates stopped: ${error.title}${error.detail ? ': ' + error.detail : ''}. Reload the page to try again.`),
  });
}

function renderRun() {
  const progress = Number(run.progress ?? 0);
  show(summary,
    el('h1', { id: 'run-heading' }, 'Run ', el('span', { className: 'id' }, run.runId)),
    el('div', { className: 'status-line' },
      el('span', { id: 'run-status', dataset: { status: run.status } }, statusBadge(run.status)),
      el('progress', { max: 100, value: progress, 'aria-label': 'Progress' }),
      el('span', { id: 'run-progress' }, `${number(progress)} %`)),
    el('dl', { className: 'facts' },
      // A run link cannot open the project page: name the project without a link to it.
      el('dt', {}, 'Project'), el('dd', {}, tokenScope()?.runId ? projectId : el('a', { href: pageUrl(`projects/${enc(projectId)}`) }, projectId)),
      el('dt', {}, 'Dossier'), el('dd', {}, run.dossierId ?? '—'),
      el('dt', {}, 'Step'), el('dd', { id: 'run-step' }, run.step ?? '—'),
      el('dt', {}, 'Message'), el('dd', { id: 'run-message' }, run.message ?? '—'),
      el('dt', {}, 'Triggered by'), el('dd', {}, run.triggeredBy ?? '—'),
      el('dt', {}, 'Created'), el('dd', {}, timeEl(run.createdAt)),
      el('dt', {}, 'Started'), el('dd', {}, timeEl(run.startedAt)),
      el('dt', {}, 'Finished'), el('dd', {}, timeEl(run.completedAt)),
      el('dt', {}, 'Duration'), el('dd', {}, duration(run.startedAt, run.completedAt)),
      el('dt', {}, 'Total cost'), el('dd', { id: 'run-total-cost' }, money(run.totalCost, 4)),
      el('dt', {}, 'Tokens'), el('dd', {}, number(run.totalTokens ?? 0))));

  show(failure, run.status === 'failed' || run.error
    ? el('section', { className: 'run-failure', role: 'alert' },
      el('h2', {}, el('span', { 'aria-hidden': 'true' }, '✕ '), run.status === 'failed' ? 'This run failed' : 'Reported error'),
      el('p', { id: 'run-error-text' }, run.error ?? 'No error text was reported.'),
      el('p', { className: 'muted' }, `At step “${run.step ?? 'unknown'}”. See the timeline below for the agent's report.`))
    : null);

  const found = artifactFields.filter(f => run[f]).map(f => [f, run[f]]);
  for (const [name, value] of Object.entries(run.artifacts ?? {})) found.push([name, value]);
  show(artifacts, el('h2', { id: 'artifacts-heading' }, 'Artifacts'),
    found.length === 0
      ? el('p', { className: 'muted' }, 'No artifacts yet. Agents add them as they finish their steps.')
      : el('ul', { className: 'artifacts', id: 'artifact-list' }, found.map(([name, value]) => {
        const href = safeHttpUrl(value);
        return el('li', {}, el('span', { className: 'label' }, name), ' ',
          href ? el('a', { href, rel: 'noopener noreferrer', target: '_blank' }, String(value))
            : el('code', {}, typeof value === 'string' ? value : JSON.stringify(value)));
      })));

  const hasVoice = run.voice && Object.keys(run.voice).length > 0;
  const hasMusic = run.music && Object.keys(run.music).length > 0;
  show(metadata, el('h2', { id: 'metadata-heading' }, 'Voice and music'),
    !hasVoice && !hasMusic ? el('p', { className: 'muted' }, 'No voice or music details reported yet.') : null,
    hasVoice ? [el('h3', {}, 'Voice'), definitionList(run.voice)] : null,
    hasMusic ? [el('h3', {}, 'Music'), definitionList(run.music)] : null);
}

let seen = 0;
function addEvent(event, id) {
  seen++;
  timelineEmpty.hidden = true;
  const item = el('li', { className: 'event', dataset: { seq: String(event.seq ?? id) } },
    el('div', { className: 'event-head' },
      el('span', { className: 'seq' }, `#${event.seq ?? id}`),
      el('strong', { className: 'agent' }, event.agent ?? '—'),
      statusBadge(event.status),
      event.progress !== undefined ? el('span', { className: 'event-progress' }, `${number(event.progress)} %`) : null,
      timeEl(event.timestamp, { short: true })),
    event.message ? el('p', { className: 'event-message' }, event.message) : null,
    event.error ? el('p', { className: 'event-error' }, el('span', { 'aria-hidden': 'true' }, '✕ '), 'Error: ', event.error) : null,
    event.usage ? el('p', { className: 'muted' }, 'Usage: ', usageText(event.usage)) : null);
  timelineList.append(item);
  refreshSoon(400);
}

function usageText(usage) {
  return Object.entries(usage).map(([k, v]) => k === 'model' ? String(v) : `${k} ${typeof v === 'number' ? number(v) : String(v)}`).join(', ');
}

// Events say what agents did; the run and its costs say where it stands. Re-read both (once for a burst).
// Answers can arrive out of order: only the latest refresh may draw.
let timer = null;
let generation = 0;
function refreshSoon(delay) {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const mine = ++generation;
    try {
      const fresh = await getJson(runPath);
      if (mine !== generation) return;
      run = fresh;
      renderRun();
    } catch { /* the next event or the end tries again */ }
    await refreshCosts(mine);
  }, delay);
}

async function refreshCosts(mine = generation) {
  let data;
  try {
    data = await getJson(`${runPath}/costs`);
  } catch (error) {
    if (mine !== generation) return;
    show(costs, el('h2', { id: 'costs-heading' }, 'Costs'), errorBlock(error, 'the costs'));
    return;
  }
  if (mine !== generation) return;
  const invoice = data.invoice ?? {};
  const rows = data.rows ?? [];
  show(costs,
    el('h2', { id: 'costs-heading' }, 'Costs and invoice'),
    rows.length === 0
      ? el('p', { className: 'muted' }, 'No costs recorded yet: agents report usage as they work.')
      : el('div', { className: 'table-wrap' }, el('table', { id: 'cost-rows', className: 'cards' },
        el('caption', {}, 'Cost rows, one per report with usage'),
        el('thead', {}, el('tr', {}, ['#', 'Agent', 'Model', 'Usage', 'Cost', 'Priced'].map(h => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, rows.map(row => el('tr', {},
          cell('#', String(row.seq ?? '')), cell('Agent', row.agent ?? ''), cell('Model', row.model ?? '—'),
          cell('Usage', usageText(Object.fromEntries(Object.entries(row.usage ?? {}).filter(([k]) => k !== 'model')))),
          cell('Cost', money(row.costUsd, 6), 'num'), cell('Priced', row.priceSource ?? '')))))),
    el('div', { className: 'table-wrap' }, el('table', { id: 'invoice', className: 'cards' },
      el('caption', {}, data.invoiceFinal ? 'Invoice' : 'Invoice so far (provisional until the run finishes)'),
      el('thead', {}, el('tr', {}, ['Agent', 'Model', 'Quantity', 'Unit', 'Unit price', 'Amount'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, (invoice.lineItems ?? []).length === 0
        ? el('tr', {}, el('td', { colspan: 6, className: 'muted' }, 'No invoice lines yet.'))
        : invoice.lineItems.map(line => el('tr', {},
          cell('Agent', line.agent ?? ''), cell('Model', line.model ?? '—'), cell('Quantity', number(line.quantity), 'num'),
          cell('Unit', line.unit ?? ''), cell('Unit price', line.unitPrice === null || line.unitPrice === undefined ? '—' : money(line.unitPrice, 6), 'num'),
          cell('Amount', money(line.amount), 'num')))),
      el('tfoot', {},
        el('tr', {}, el('th', { scope: 'row', colspan: 5 }, 'Subtotal'), el('td', { className: 'num', id: 'invoice-subtotal' }, money(invoice.subtotal))),
        el('tr', {}, el('th', { scope: 'row', colspan: 5 }, `Markup (${number((invoice.markupRate ?? 0) * 100)} %)`), el('td', { className: 'num', id: 'invoice-markup' }, money(invoice.markup))),
        el('tr', { className: 'total' }, el('th', { scope: 'row', colspan: 5 }, `Total (${invoice.currency ?? 'USD'})`),
          el('td', { className: 'num', id: 'invoice-total', dataset: { amount: String(invoice.total ?? '') } }, money(invoice.total)))))),
    el('p', {}, el('button', { type: 'button', id: 'download-csv', onclick: downloadCsv }, 'Download invoice (CSV)'),
      ' ', el('span', { id: 'csv-state', role: 'status' })));
}

/** A table cell labelled for the phone layout, where each row becomes a card. */
function cell(label, content, className) {
  return el('td', { 'data-label': label, className }, content);
}

async function downloadCsv() {
  const state = document.getElementById('csv-state');
  try {
    const response = await api(`${runPath}/costs`, { accept: 'text/csv' });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: `invoice-${projectId}-${runId}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    state.textContent = '';
  } catch (error) {
    state.textContent = `The CSV could not be downloaded: ${error.title}. Try again.`;
  }
}

