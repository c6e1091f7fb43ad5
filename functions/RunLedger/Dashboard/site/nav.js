// The header's links; each carries the page's token along.
import { el, pageUrl, enc } from './common.js';

export function renderNav(projectId, current) {
  const nav = document.getElementById('nav');
  const items = [];
  if (projectId) items.push(['project', `Project ${projectId}`, pageUrl(`projects/${enc(projectId)}`)]);
  items.push(['costs', 'Costs', pageUrl('costs', projectId ? `?projectId=${enc(projectId)}` : '')]);
  nav.replaceChildren(...items.map(([key, label, href]) =>
    el('li', {}, el('a', { href, 'aria-current': key === current ? 'page' : null }, label))));
}
