/**
 * The emulator's web page: one self-contained HTML document (inline CSS and JS, no CDN, works
 * offline) that polls the JSON API every second and shows what a user would otherwise check
 * with SQL in Databricks: tables and row counts, the ingest rate over the last minute, the open
 * streams with their throttling by the per-stream quota, and the newest rows of the selected table. The first answer already holds a snapshot of all of it, so
 * the page says something without JavaScript (curl, a test, a proxy that strips scripts).
 */
import { formatType, type TableSchema } from '../schema';

/** What the page shows before its script has fetched anything. */
export interface PageSnapshot {
  endpoint: string;
  workspaceUrl: string;
  mode: string;
  tables: { schema: TableSchema; rowCount: number }[];
  /** newest rows of the first table */
  rows: Record<string, unknown>[];
  rowsPerSecond: number;
  rowsTotal: number;
  streamsOpen: number;
  rejectedTotal: number;
  /** Requests over the per-stream quota so far, and wall time their acks were held back. */
  throttled: { count: number; ms: number };
  /** The quota in words ('none' when off). */
  quota: string;
}
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zerobus emulator</title>
<link rel="icon" href="{{favicon}}">
<style>
  :root { --bg:#f6f7f9; --panel:#fff; --ink:#1d2430; --muted:#6b7380; --line:#e3e6eb; --accent:#e9967a; --accent-ink:#b4532f; --ok:#2e8b57; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:var(--panel); border-bottom:1px solid var(--line); flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  header h1 span { color:var(--accent-ink); }
  .endpoints { color:var(--muted); font-size:12.5px; display:flex; gap:18px; flex-wrap:wrap; }
  .endpoints code { color:var(--ink); background:var(--bg); padding:1px 6px; border-radius:4px; }
  #live { margin-left:auto; font-size:12px; color:var(--muted); }
  #live::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--ok); margin-right:6px; }
  #live.down::before { background:#c0392b; }
  main { display:grid; grid-template-columns: 320px 1fr; gap:16px; padding:16px 24px; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px 16px; min-width:0; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0 0 10px; font-weight:600; }
  .kpis { display:grid; grid-template-columns:repeat(5,1fr); gap:10px; margin-bottom:12px; }
  .kpi { background:var(--bg); border-radius:6px; padding:8px 10px; }
  .kpi b { display:block; font-size:20px; font-variant-numeric:tabular-nums; }
  .kpi small { color:var(--muted); font-size:11.5px; }
  canvas { width:100%; height:140px; display:block; }
  ul#tables { list-style:none; margin:0; padding:0; }
  ul#tables li { display:flex; justify-content:space-between; gap:8px; padding:8px 10px; border-radius:6px; cursor:pointer; }
  ul#tables li:hover { background:var(--bg); }
  ul#tables li.sel { background:#fbe9e2; color:var(--accent-ink); font-weight:600; }
  ul#tables li .n { font-variant-numeric:tabular-nums; color:var(--muted); }
  .cols { margin-top:14px; font-size:12.5px; }
  .cols div { display:flex; justify-content:space-between; gap:8px; padding:2px 0; border-bottom:1px dashed var(--line); }
  .cols .t { color:var(--muted); font-family:ui-monospace,Menlo,Consolas,monospace; font-size:11.5px; text-align:right; }
  .table-wrap { overflow:auto; max-height:60vh; border:1px solid var(--line); border-radius:6px; }
  table { border-collapse:collapse; width:max-content; min-width:100%; font-size:12.5px; }
  th, td { padding:5px 8px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; max-width:320px; overflow:hidden; text-overflow:ellipsis; }
  th { position:sticky; top:0; background:#fafbfc; font-weight:600; z-index:1; }
  td.null { color:#b0b6bf; font-style:italic; }
  td.num { text-align:right; font-variant-numeric:tabular-nums; }
  .empty { color:var(--muted); padding:24px; text-align:center; }
  .rowbar { display:flex; align-items:center; gap:10px; margin-bottom:8px; }
  .rowbar select { font:inherit; padding:2px 4px; }
  .rowbar .spacer { flex:1; }
  #streams, #quota, #table-throttle { font-size:12.5px; color:var(--muted); margin-top:10px; }
  #quota { margin:0 0 8px; }
</style>
</head>
<body>
<header>
  <h1>Zerobus <span>emulator</span></h1>
  <div class="endpoints"><span>gRPC endpoint <code id="ep">{{endpoint}}</code></span><span>workspace URL <code id="ws">{{workspaceUrl}}</code></span><span id="mode">{{mode}}</span></div>
  <div id="live">live</div>
</header>
<main>
  <section>
    <h2>Tables</h2>
    <ul id="tables">{{tables}}</ul>
    <div class="cols" id="cols">{{cols}}</div>
  </section>
  <div style="display:grid; gap:16px; min-width:0">
    <section>
      <h2>Ingest</h2>
      <div class="kpis">
        <div class="kpi"><b id="k-rate">{{rate}}</b><small>rows/s</small></div>
        <div class="kpi"><b id="k-total">{{total}}</b><small>rows stored</small></div>
        <div class="kpi"><b id="k-streams">{{streams}}</b><small>open streams</small></div>
        <div class="kpi"><b id="k-rejected">{{rejected}}</b><small>records rejected</small></div>
        <div class="kpi" title="requests over the per-stream quota; time their acks were held back"><b id="k-throttled">{{throttled}}</b><small>throttled (<span id="k-throttled-s">{{throttledSeconds}}</span> s)</small></div>
      </div>
      <div id="quota">per-stream quota: {{quota}}</div>
      <canvas id="chart" width="800" height="140" aria-label="rows per second, last 60 seconds"></canvas>
      <div id="streams"></div>
      <div id="table-throttle"></div>
    </section>
    <section>
      <div class="rowbar"><h2 style="margin:0" id="rows-title">{{rowsTitle}}</h2><span class="spacer"></span>
        <label>show <select id="limit"><option>20</option><option selected>50</option><option>200</option></select></label></div>
      <div class="table-wrap" id="rows">{{rows}}</div>
    </section>
  </div>
</main>
<script>
(function () {
  var selected = null, columns = {}, fmt = new Intl.NumberFormat();
  var $ = function (id) { return document.getElementById(id); };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function getJson(url) { return fetch(url, { cache: 'no-store' }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); }); }
  function isTime(type) { return type === 'TIMESTAMP' || type === 'TIMESTAMP_NTZ'; }
  function cell(value, type) {
    if (value === undefined || value === null) return '<td class="null">null</td>';
    if (isTime(type) && typeof value === 'number') {
      var d = new Date(value / 1000);
      var text = isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace('Z', type === 'TIMESTAMP' ? ' UTC' : '');
      return '<td title="' + esc(value) + ' µs">' + esc(text) + '</td>';
    }
    if (typeof value === 'number') return '<td class="num">' + esc(type === 'FLOAT' ? Number(value.toPrecision(7)) : value) + '</td>';
    var text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    return '<td title="' + esc(text) + '">' + esc(text) + '</td>';
  }
  function renderTables(tables) {
    if (!selected && tables.length) selected = tables[0].name;
    $('tables').innerHTML = tables.length ? tables.map(function (t) {
      columns[t.name] = t.columns;
      return '<li data-name="' + esc(t.name) + '" class="' + (t.name === selected ? 'sel' : '') + '"><span>' + esc(t.name) + '</span><span class="n">' + fmt.format(t.rowCount) + '</span></li>';
    }).join('') : '<li class="empty">No tables. Start with --schema file.sql.</li>';
    var cols = columns[selected] || [];
    $('cols').innerHTML = cols.map(function (c) {
      return '<div><span>' + esc(c.name) + '</span><span class="t">' + esc(c.type) + (c.nullable ? '' : ' NOT NULL') + '</span></div>';
    }).join('');
  }
  function renderRows(rows) {
    var cols = columns[selected] || [];
    $('rows-title').textContent = 'Latest rows' + (selected ? ' — ' + selected : '');
    if (!rows.length) { $('rows').innerHTML = '<div class="empty">No rows yet.</div>'; return; }
    var head = '<tr>' + cols.map(function (c) { return '<th>' + esc(c.name) + '</th>'; }).join('') + '</tr>';
    var body = rows.map(function (r) { return '<tr>' + cols.map(function (c) { return cell(r[c.name], c.type); }).join('') + '</tr>'; }).join('');
    $('rows').innerHTML = '<table><thead>' + head + '</thead><tbody>' + body + '</tbody></table>';
  }
  function drawChart(history) {
    var canvas = $('chart'), ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== w * ratio) { canvas.width = w * ratio; canvas.height = h * ratio; }
    var g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    var max = Math.max(10, Math.max.apply(null, history));
    var pad = 4, top = 16, n = Math.max(1, history.length - 1);
    g.strokeStyle = '#e3e6eb'; g.lineWidth = 1;
    [0.5, 1].forEach(function (f) { var y = top + (h - top - pad) * (1 - f); g.beginPath(); g.moveTo(0, y); g.lineTo(w, y); g.stroke(); });
    g.fillStyle = '#6b7380'; g.font = '11px system-ui, sans-serif';
    g.fillText(fmt.format(Math.round(max)) + ' rows/s', 4, 11);
    g.fillText('60 s', w - 28, 11);
    g.beginPath();
    history.forEach(function (v, i) {
      var x = (i / n) * w, y = top + (h - top - pad) * (1 - v / max);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.lineWidth = 2; g.strokeStyle = '#e9967a'; g.stroke();
    g.lineTo(w, h); g.lineTo(0, h); g.closePath(); g.fillStyle = 'rgba(233,150,122,0.15)'; g.fill();
  }
  function loadRows() {
    if (!selected) return Promise.resolve();
    var table = selected;
    return getJson('api/tables/' + encodeURIComponent(table) + '/rows?limit=' + $('limit').value).then(function (rows) { if (table === selected) renderRows(rows); });
  }
  function refresh() {
    Promise.all([getJson('api/stats'), getJson('api/tables')]).then(function (res) {
      var s = res[0];
      $('live').className = '';
      $('k-rate').textContent = fmt.format(s.rowsPerSecond);
      $('k-total').textContent = fmt.format(s.rowsTotal);
      $('k-streams').textContent = fmt.format(s.streamsOpen);
      $('k-rejected').textContent = fmt.format(s.rejectedTotal);
      $('k-throttled').textContent = fmt.format(s.throttled.count);
      $('k-throttled-s').textContent = (s.throttled.ms / 1000).toFixed(1);
      $('streams').textContent = s.streams.length ? 'Open: ' + s.streams.map(function (x) {
        return x.table + ' (' + String(x.streamId).slice(0, 8) + (x.closing ? ', closing' : '') + ', ' + fmt.format(x.recordsReceived) + ' records' +
          (x.throttled.count ? ', throttled ' + fmt.format(x.throttled.count) + '× ' + (x.throttled.ms / 1000).toFixed(1) + ' s' : '') + ')';
      }).join(', ') : 'No open streams.';
      var slowed = (s.tables || []).filter(function (t) { return t.throttled && t.throttled.count; });
      $('table-throttle').textContent = slowed.length ? 'Throttled by table: ' + slowed.map(function (t) {
        return t.name + ' ' + fmt.format(t.throttled.count) + '× ' + (t.throttled.ms / 1000).toFixed(1) + ' s';
      }).join(', ') : '';
      drawChart(s.history || []);
      renderTables(res[1]);
      return loadRows();
    }).catch(function () { $('live').className = 'down'; $('live').textContent = 'offline'; return; })
      .then(function () { if ($('live').className !== 'down') $('live').textContent = 'live'; setTimeout(refresh, 1000); });
  }
  $('tables').addEventListener('click', function (e) {
    var li = e.target.closest('li[data-name]');
    if (!li) return;
    selected = li.getAttribute('data-name');
    Array.prototype.forEach.call($('tables').children, function (x) { x.className = x === li ? 'sel' : ''; });
    loadRows();
  });
  $('limit').addEventListener('change', loadRows);
  getJson('api/info').then(function (i) {
    $('ep').textContent = i.endpoint; $('ws').textContent = i.workspaceUrl;
    $('mode').textContent = (i.oauth ? 'OAuth checked' : 'any token accepted') + ' · ' + (i.durable ? 'rows on disk' : 'rows in memory');
  }).catch(function () {});
  refresh();
})();
</script>
</body>
</html>
`;

/** Rows the first answer carries (the select's default). */
export const PAGE_ROWS = 50;

function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const count = (n: number) => new Intl.NumberFormat('en-US').format(n);

/** A tab icon drawn inline, so that the browser asks for no /favicon.ico. */
const FAVICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#e9967a"/><path d="M4 4h8L4 12h8" stroke="#fff" stroke-width="2" fill="none"/></svg>')}`;

/**
 * The same markup the script renders, filled in on the server. TIMESTAMP is an instant, shown in
 * UTC and saying so (TIMESTAMP_NTZ has no zone); FLOAT is stored as float32, so it is shown with
 * the 7 digits it has (2.455, not 2.4549999237060547).
 */
function cell(value: unknown, type: string): string {
  if (value === undefined || value === null) return '<td class="null">null</td>';
  if ((type === 'TIMESTAMP' || type === 'TIMESTAMP_NTZ') && typeof value === 'number') {
    const d = new Date(value / 1000);
    const text = Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace('Z', type === 'TIMESTAMP' ? ' UTC' : '');
    return `<td title="${esc(value)} µs">${esc(text)}</td>`;
  }
  if (typeof value === 'number') return `<td class="num">${esc(type === 'FLOAT' ? Number(value.toPrecision(7)) : value)}</td>`;
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `<td title="${esc(text)}">${esc(text)}</td>`;
}

export function renderPage(snapshot: PageSnapshot): string {
  const first = snapshot.tables[0]?.schema;
  const columns = first ? first.columns.map((c) => ({ name: c.name, type: formatType(c.type), nullable: c.nullable })) : [];
  const tables = snapshot.tables.length
    ? snapshot.tables.map((t, i) => `<li data-name="${esc(t.schema.name)}" class="${i === 0 ? 'sel' : ''}"><span>${esc(t.schema.name)}</span><span class="n">${count(t.rowCount)}</span></li>`).join('')
    : '<li class="empty">No tables. Start with --schema file.sql.</li>';
  const cols = columns.map((c) => `<div><span>${esc(c.name)}</span><span class="t">${esc(c.type)}${c.nullable ? '' : ' NOT NULL'}</span></div>`).join('');
  let rows = '<div class="empty">No table selected.</div>';
  if (first) {
    rows = snapshot.rows.length
      ? `<table><thead><tr>${columns.map((c) => `<th>${esc(c.name)}</th>`).join('')}</tr></thead><tbody>${snapshot.rows
          .map((r) => `<tr>${columns.map((c) => cell(r[c.name], c.type)).join('')}</tr>`)
          .join('')}</tbody></table>`
      : '<div class="empty">No rows yet.</div>';
  }
  const values: Record<string, string> = {
    favicon: FAVICON,
    endpoint: esc(snapshot.endpoint),
    workspaceUrl: esc(snapshot.workspaceUrl),
    mode: esc(snapshot.mode),
    tables,
    cols,
    rate: count(snapshot.rowsPerSecond),
    total: count(snapshot.rowsTotal),
    streams: count(snapshot.streamsOpen),
    rejected: count(snapshot.rejectedTotal),
    throttled: count(snapshot.throttled.count),
    throttledSeconds: (snapshot.throttled.ms / 1000).toFixed(1),
    quota: esc(snapshot.quota),
    rowsTitle: esc(first ? `Latest rows — ${first.name}` : 'Latest rows'),
    rows,
  };
  return PAGE.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key]);
}
