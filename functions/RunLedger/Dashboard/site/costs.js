// The costs page: for a window, the average cost per completed run, the costliest runs, and a
// chart of the average cost per completed run per day (or week), drawn here as SVG. Optional
// ?projectId= narrows everything to one project.
import { getJson, el, svg, show, loading, errorBlock, stateBlock, money, number, timeEl, pageUrl, enc } from './common.js';
import { renderNav } from './nav.js';

const projectId = new URLSearchParams(location.search).get('projectId') || '';
const app = document.getElementById('app');
renderNav(projectId, 'costs');

const windows = [[7, 'Last 7 days'], [30, 'Last 30 days'], [90, 'Last 90 days']];
let days = 30;
const summaryArea = el('section', { className: 'card', 'aria-labelledby': 'summary-heading', id: 'summary' });
const chartArea = el('section', { className: 'card', 'aria-labelledby': 'chart-heading', id: 'chart' });
const topArea = el('section', { className: 'card', 'aria-labelledby': 'top-heading', id: 'top' });

show(app,
  el('section', { className: 'card' },
    el('h1', {}, projectId ? ['Costs of ', el('span', { className: 'id' }, projectId)] : 'Costs of all projects'),
    el('label', { for: 'window' }, 'Window '),
    el('select', { id: 'window', onchange: e => { days = Number(e.target.value); load(); } },
      windows.map(([value, label]) => el('option', { value: String(value), selected: value === days }, label)))),
  summaryArea, chartArea, topArea);
app.setAttribute('aria-busy', 'false');
load();

function query(extra) {
  const q = new URLSearchParams(extra);
  if (projectId) q.set('projectId', projectId);
  return q.toString();
}

function startOfDay(date) {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

async function load() {
  const now = new Date();
  const end = new Date(startOfDay(now).getTime() + 86400000);
  const bucketDays = days > 30 ? 7 : 1;
  const buckets = [];
  for (let to = end; buckets.length * bucketDays < days; to = new Date(to.getTime() - bucketDays * 86400000)) {
    buckets.unshift({ from: new Date(to.getTime() - bucketDays * 86400000), to });
  }
  const from = buckets[0].from;
  show(summaryArea, loading('the summary'));
  show(chartArea, loading('the chart'));
  show(topArea, loading('the costliest runs'));
  document.body.dataset.page = 'loading';

  try {
    const [summary, top, series] = await Promise.all([
      getJson(`/costs/summary?${query({ from: from.toISOString(), to: now.toISOString() })}`),
      getJson(`/costs/top?${query({ limit: '10' })}`),
      // The API's "to" is inclusive; a bucket ends one millisecond before the next one starts.
      Promise.all(buckets.map(b => getJson(`/costs/summary?${query({ from: b.from.toISOString(), to: new Date(b.to.getTime() - 1).toISOString() })}`)
        .then(s => ({ ...b, runCount: s.runCount, averageCost: Number(s.averageCost) })))),
    ]);
    renderSummary(summary);
    renderChart(series, bucketDays);
    renderTop(top.items ?? []);
    document.body.dataset.page = 'ready';
  } catch (error) {
    show(summaryArea, errorBlock(error, 'costs'));
    show(chartArea);
    show(topArea);
    document.body.dataset.page = 'error';
  }
}

function renderSummary(summary) {
  show(summaryArea, el('h2', { id: 'summary-heading' }, windows.find(([d]) => d === days)[1]),
    summary.runCount === 0
      ? stateBlock('empty', 'No completed runs in this window', 'Costs count once runs complete. Pick a longer window, or come back when runs have finished.')
      : el('dl', { className: 'stats' },
        el('div', {}, el('dt', {}, 'Average cost per completed run'), el('dd', { id: 'average-cost' }, money(summary.averageCost, 4))),
        el('div', {}, el('dt', {}, 'Completed runs'), el('dd', { id: 'run-count' }, number(summary.runCount))),
        el('div', {}, el('dt', {}, 'Total cost'), el('dd', {}, money(summary.totalCost, 4))),
        el('div', {}, el('dt', {}, 'Average tokens per run'), el('dd', {}, number(summary.averageTokens)))));
}

function renderChart(series, bucketDays) {
  const heading = el('h2', { id: 'chart-heading' }, `Average cost per completed run, per ${bucketDays === 1 ? 'day' : 'week'}`);
  if (series.every(p => p.runCount === 0)) {
    show(chartArea, heading, el('p', { className: 'muted' }, 'Nothing to draw: no run completed in this window.'));
    return;
  }
  const width = 640, height = 240, left = 64, right = 12, top = 12, bottom = 36;
  const max = Math.max(...series.map(p => p.averageCost)) || 1;
  const step = (width - left - right) / series.length;
  const y = value => top + (height - top - bottom) * (1 - value / max);
  const label = date => date.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const every = Math.ceil(series.length / 8);

  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc', class: 'chart' },
    svg('title', { id: 'chart-title' }, heading.textContent),
    svg('desc', { id: 'chart-desc' }, `Bars per ${bucketDays === 1 ? 'day' : 'week'}; highest ${money(max, 4)}. The table below has the figures.`),
    [0, 0.5, 1].map(f => [
      svg('line', { x1: left, x2: width - right, y1: y(max * f), y2: y(max * f), class: 'grid' }),
      svg('text', { x: left - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, money(max * f, max < 1 ? 4 : 2)),
    ]),
    series.map((p, i) => svg('g', { class: 'bar' },
      svg('title', {}, `${label(p.from)}: ${p.runCount === 0 ? 'no completed runs' : `${money(p.averageCost, 4)} average over ${p.runCount} run${p.runCount === 1 ? '' : 's'}`}`),
      svg('rect', { x: left + i * step + step * 0.15, width: Math.max(1, step * 0.7), y: y(p.averageCost), height: Math.max(0, y(0) - y(p.averageCost)) }),
      i % every === 0 ? svg('text', { x: left + i * step + step / 2, y: height - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, label(p.from)) : null)));

  const table = el('details', {}, el('summary', {}, 'Show the figures as a table'),
    el('div', { className: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['From (UTC)', 'Completed runs', 'Average cost'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, series.map(p => el('tr', {}, el('td', {}, label(p.from)), el('td', { className: 'num' }, number(p.runCount)),
        el('td', { className: 'num' }, p.runCount ? money(p.averageCost, 4) : '—')))))));
  show(chartArea, heading, el('div', { className: 'chart-wrap' }, chart), table);
}

function renderTop(items) {
  show(topArea, el('h2', { id: 'top-heading' }, 'Costliest completed runs'),
    items.length === 0
      ? el('p', { className: 'muted' }, 'No completed runs yet.')
      : el('div', { className: 'table-wrap' }, el('table', { id: 'top-runs' },
        el('thead', {}, el('tr', {}, ['Run', 'Project', 'Completed', 'Tokens', 'Total cost'].map(h => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, items.map(item => el('tr', {},
          el('td', {}, el('a', { href: pageUrl(`projects/${enc(item.projectId)}/runs/${enc(item.runId)}`) }, item.runId)),
          el('td', {}, item.projectId), el('td', {}, timeEl(item.completedAt)),
          el('td', { className: 'num' }, number(item.totalTokens)), el('td', { className: 'num' }, money(item.totalCost, 4))))))));
}
