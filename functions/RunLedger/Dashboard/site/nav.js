// The header: links to the other pages (only those the page's link can open), each carrying the
// token along, and what a read-only link covers and until when.
import { el, pageUrl, enc, tokenScope, timeEl } from './common.js';

export function renderNav(projectId, current) {
  const nav = document.getElementById('nav');
  const scope = tokenScope();
  const items = [];
  // A run link opens that run only: offer no page it would be refused.
  if (!scope?.runId) {
    if (projectId) {
      items.push(['project', `Project ${projectId}`, pageUrl(`projects/${enc(projectId)}`)]);
      const month = new Date().toISOString().slice(0, 7); // this month, UTC, as statements are
      items.push(['statement', 'Statement', pageUrl(`projects/${enc(projectId)}/statements/${month}`)]);
    }
    items.push(['costs', 'Costs', pageUrl('costs', projectId ? `?projectId=${enc(projectId)}` : '')]);
  }
  nav.replaceChildren(...items.map(([key, label, href]) =>
    el('li', {}, el('a', { href, 'aria-current': key === current ? 'page' : null }, label))));
  if (scope) {
    nav.after(el('p', { id: 'link-scope', className: 'link-scope' },
      `Read-only link: ${scope.runId ? 'this run only' : `project ${scope.projectId}`}`,
      scope.expiresAt ? [', until ', timeEl(scope.expiresAt)] : null));
  }
}
