// A client's monthly statement, laid out to print: "Save as PDF" from the browser's print dialog
// gives a clean document (the print stylesheet hides the navigation and keeps tables whole).
import { getJson, el, show, errorBlock, stateBlock, money, number, timeEl, page, enc } from './common.js';
import { renderNav } from './nav.js';

const app = document.getElementById('app');
const projectId = page.projectId ?? '';
const month = page.month ?? '';
renderNav(projectId, 'statement');
document.title = `Statement ${month} · ${projectId} · Run Ledger`;
load();

async function load() {
  document.body.dataset.page = 'loading';
  try {
    const statement = await getJson(`/projects/${enc(projectId)}/statements/${enc(month)}`);
    render(statement);
    document.body.dataset.page = 'ready';
  } catch (error) {
    show(app, errorBlock(error, `the statement of ${month}`));
    document.body.dataset.page = 'error';
  }
  app.setAttribute('aria-busy', 'false');
}

/** The day before an instant's day, as yyyy-mm-dd (UTC): the last day of the period. */
function lastDay(iso) {
  return new Date(Date.parse(iso) - 86400000).toISOString().slice(0, 10);
}

function exact(value) {
  return money(value, 6);
}

function table(caption, headings, rows, id) {
  return el('table', { className: 'statement-table', id },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, headings.map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map(cells => el('tr', {}, cells.map(c => el('td', {}, c))))));
}

function render(s) {
  const closed = s.status === 'closed';
  const header = el('section', { className: 'card statement-head' },
    el('h1', {}, closed ? `Statement ${s.statementId}` : `Statement for ${s.month} (open)`),
    el('dl', { className: 'facts' },
      el('div', {}, el('dt', {}, 'Client'), el('dd', { className: 'id' }, s.projectId)),
      el('div', {}, el('dt', {}, 'Period (UTC)'), el('dd', { id: 'period' }, `${s.from.slice(0, 10)} to ${lastDay(s.to)}`)),
      closed ? el('div', {}, el('dt', {}, 'Closed'), el('dd', {}, timeEl(s.closedAt),
        s.closedBy?.name ? ` by ${s.closedBy.name}` : '', ` (${s.closedBy?.credential ?? ''})`)) : null),
    closed ? null : el('p', { className: 'hint' }, 'This month is open: its figures change as costs arrive, until the statement is closed.'));

  const lines = s.lineItems.length === 0
    ? stateBlock('empty', 'No costs this month', 'Costs appear here as agents report usage.')
    : table('Charges', ['Agent', 'Model', 'Unit', 'Quantity', 'Unit price', 'Amount'],
      s.lineItems.map(l => [l.agent, l.model ?? '—', l.unit, number(l.quantity), l.unitPrice === null ? '—' : exact(l.unitPrice), money(l.amount)]), 'lines');

  const totals = el('dl', { className: 'stats statement-totals', id: 'totals' },
    el('div', {}, el('dt', {}, 'Subtotal'), el('dd', { id: 'subtotal' }, money(s.subtotal))),
    el('div', {}, el('dt', {}, `Markup (${number(Number(s.markupRate) * 100)}%)`), el('dd', {}, money(s.markup))),
    el('div', {}, el('dt', {}, 'Total (USD)'), el('dd', { id: 'total' }, money(s.total))),
    s.exchange ? el('div', {}, el('dt', {}, `Total (${s.exchange.currency})`),
      el('dd', { id: 'total-converted' }, new Intl.NumberFormat('en-US', { style: 'currency', currency: s.exchange.currency }).format(Number(s.exchange.total)))) : null);
  const rate = s.exchange
    ? el('p', { className: 'hint', id: 'rate' }, `Converted at ${s.exchange.rate} ${s.exchange.currency} per US dollar, the rate of ${s.exchange.rateDate}.`)
    : null;

  const runs = s.runs.length === 0 ? null
    : table('Runs', ['Run', 'Cost rows', 'Cost (exact)'], s.runs.map(r => [r.runId, number(r.costRows), exact(r.exactAmount)]), 'runs');
  const adjustments = s.adjustments.length === 0 ? null
    : table('Adjustments: costs of months already closed', ['Run', 'Month', 'Agent', 'Amount (exact)'],
      s.adjustments.map(a => [a.runId, a.month, a.agent, exact(a.exactAmount)]), 'adjustments');
  const breakdowns = el('div', { className: 'statement-breakdowns' },
    table('By agent', ['Agent', 'Amount'], s.byAgent.map(b => [b.agent ?? '—', exact(b.exactAmount)])),
    table('By model', ['Model', 'Amount'], s.byModel.map(b => [b.model ?? '—', exact(b.exactAmount)])));

  show(app, header,
    el('section', { className: 'card' }, lines, totals, rate,
      el('p', { className: 'hint' }, s.rounding)),
    runs || adjustments ? el('section', { className: 'card' }, runs, adjustments) : null,
    el('section', { className: 'card' }, breakdowns),
    el('p', { className: 'no-print' }, el('button', { type: 'button', onclick: () => window.print() }, 'Print or save as PDF')));
}
