// The overview, build and branch pages keep themselves current: on each
// `changed` event of /api/events the page fetches itself again and swaps
// its <main> (the server renders, and escapes, everything), and every
// second the times on it move on ("12 s ago", a running build's duration,
// the estimate of its end). Open <details> stay open across a swap.

const events = document.body.dataset.events;

function formatDuration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function formatAgo(ms) {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return null;
}

function tick() {
  const now = Date.now();
  for (const time of document.querySelectorAll('time[data-since]')) time.textContent = formatDuration(now - Date.parse(time.dataset.since));
  for (const time of document.querySelectorAll('time[data-ago]')) {
    const text = formatAgo(now - Date.parse(time.dataset.ago));
    if (text) time.textContent = text;
  }
  for (const time of document.querySelectorAll('time[data-until]')) {
    const left = Date.parse(time.dataset.until) - now;
    time.textContent = left >= 0 ? `in about ${formatDuration(left)}` : `any moment (${formatDuration(-left)} past the estimate)`;
  }
}

let refreshing = false;
let again = false;

async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const response = await fetch(location.href, { headers: { Accept: 'text/html' } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('main');
    const main = document.getElementById('main');
    if (!fresh || !main) return;
    const open = new Set([...main.querySelectorAll('details[open]')].map((d) => d.closest('[id]')?.id).filter(Boolean));
    for (const details of fresh.querySelectorAll('details')) if (open.has(details.closest('[id]')?.id)) details.open = true;
    main.replaceWith(document.adoptNode(fresh));
    tick();
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed ?? 0) + 1);
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

if (events) {
  const source = new EventSource(events);
  source.addEventListener('changed', () => void refresh());
}
setInterval(tick, 1000);
tick();
