// Metrics with memory: the page opens with the collector's last hour drawn (the server keeps it,
// topology_editor/metrics_history.py), then each websocket payload extends the traces in place.
// The page never polls; a lost socket reconnects. A range picker shows the last 5 min, 15 min or
// hour. Per-pod charts group their traces by entity in the legend and show the top N series
// (by their newest value); the rest stay one legend click away, or all at once with "all series".
/* global Plotly */
import { api, connectMetrics, loadStatus, renderStatus, showConnection } from "./common.js";

const ROOT = document.querySelector("#metrics");
const NAME = ROOT.dataset.name;
const MAX_POINTS = 3600; // what the server keeps at most: an hour at one payload a second
const TOP_N = 5;
const CHARTS = {
  pods: { title: "Pods running per entity", y: "pods" },
  records: { title: "Throughput per pod (records/s)", y: "records/s", ranked: true },
  bytes: { title: "Throughput per pod (bytes/s)", y: "bytes/s", ranked: true },
  lag: { title: "Consumer lag per partition", y: "records", ranked: true },
  reconcile: { title: "Reconciles per minute and duration p50/p95 (ms)", y: "per minute", y2: "ms" },
};
/** Per chart: the series in Plotly's trace order, each {name, group, extra, x, y}. */
const series = Object.fromEntries(Object.keys(CHARTS).map((k) => [k, new Map()]));
const received = { count: 0, history: 0 };
const view = { range: Number(ROOT.dataset.range || 900), all: false, end: Date.now(), loaded: false };
const early = [];
window.invokerMetrics = { received, series, view };

function layoutOf(chart) {
  const layout = {
    // Left-aligned in the top margin, so the toolbar (top right, on hover) never covers it.
    title: { text: chart.title, x: 0, xref: "paper", xanchor: "left", y: 1, yref: "container", yanchor: "top", pad: { t: 8 }, font: { size: 14 } },
    height: 340, margin: { l: 55, r: 20, t: 60, b: 40 },
    xaxis: { type: "date" }, yaxis: { title: { text: chart.y }, rangemode: "tozero" }, showlegend: true,
    legend: { groupclick: "toggleitem", font: { size: 11 } },
  };
  if (chart.y2) layout.yaxis2 = { title: { text: chart.y2 }, overlaying: "y", side: "right", rangemode: "tozero" };
  if (chart.y2) layout.legend.x = 1.1;
  return layout;
}

const CONFIG = { responsive: true, displaylogo: false };

/** Every (chart, series, group, value, extra) point of one payload or kept sample. */
function* pointsOf(payload) {
  for (const [entity, info] of Object.entries(payload.entities || {})) yield ["pods", entity, "", info.pods]; // one per entity: no groups
  for (const pod of payload.pods || []) {
    const group = pod.entity || "";
    const dot = { line: { dash: "dot" } };
    yield ["records", `${pod.name} in`, group, pod.recordsInPerSec];
    yield ["records", `${pod.name} out`, group, pod.recordsOutPerSec, dot];
    yield ["bytes", `${pod.name} in`, group, pod.bytesInPerSec];
    yield ["bytes", `${pod.name} out`, group, pod.bytesOutPerSec, dot];
  }
  for (const [entity, partitions] of Object.entries(payload.lag || {})) {
    for (const [partition, lag] of Object.entries(partitions)) yield ["lag", `${entity}[${partition}]`, entity, lag];
  }
  const rec = payload.reconciles || {};
  yield ["reconcile", "reconciles/min", "", rec.perMinute];
  yield ["reconcile", "p50 duration", "", rec.p50Ms, { yaxis: "y2", line: { dash: "dot" } }];
  yield ["reconcile", "p95 duration", "", rec.p95Ms, { yaxis: "y2", line: { dash: "dash" } }];
}

const missing = (v) => v === undefined || v === null || Number.isNaN(v);

function traceOf(s) {
  const trace = { x: [...s.x], y: [...s.y], name: s.name, mode: "lines", visible: s.visible, ...s.extra };
  if (s.group) Object.assign(trace, { legendgroup: s.group, legendgrouptitle: { text: s.group } });
  return trace;
}

/** Which series of a ranked chart are drawn: the TOP_N with the largest newest value, unless
 * "all series" is on. The others stay in the legend ("legendonly"), one click away. */
function rank(key) {
  const all = [...series[key].values()];
  if (!CHARTS[key].ranked || view.all) { for (const s of all) s.visible = true; return; }
  const top = new Set([...all].sort((a, b) => (b.y.at(-1) ?? 0) - (a.y.at(-1) ?? 0)).slice(0, TOP_N));
  for (const s of all) s.visible = top.has(s) ? true : "legendonly";
}

function redraw(key) {
  rank(key);
  Plotly.react(`chart-${key}`, [...series[key].values()].map(traceOf), { ...layoutOf(CHARTS[key]), xaxis: xaxis() }, CONFIG);
}

function xaxis() {
  return { type: "date", range: [new Date(view.end - view.range * 1000), new Date(view.end)] };
}

/** Adds a payload's points to the series; returns the charts that gained a series. */
function remember(payload, batches) {
  const time = new Date((payload.time || Date.now() / 1000) * 1000);
  view.end = Math.max(view.end, time.getTime());
  const grown = new Set();
  for (const [key, name, group, value, extra = {}] of pointsOf(payload)) {
    if (missing(value)) continue;
    const index = series[key];
    if (!index.has(name)) {
      index.set(name, { name, group, extra, x: [], y: [], visible: true });
      grown.add(key);
    }
    const s = index.get(name);
    if (batches) {
      const batch = (batches[key] ||= { x: [], y: [], idx: [] });
      batch.idx.push([...index.keys()].indexOf(name));
      batch.x.push([time]); batch.y.push([value]);
    } else {
      s.x.push(time); s.y.push(value);
    }
  }
  return grown;
}

function drawHistory(samples) {
  for (const sample of samples) remember(sample, null);
  received.history = samples.length;
  for (const key of Object.keys(CHARTS)) redraw(key);
  ROOT.dataset.history = String(samples.length);
}

function onPayload(payload) {
  renderStatus(document.querySelector("#status"), payload.status || {});
  if (!view.loaded) { early.push(payload); return; }
  received.count += 1;
  const batches = {};
  const grown = remember(payload, batches);
  for (const key of Object.keys(CHARTS)) {
    if (grown.has(key)) {
      // A new series: keep its points and draw the chart again with the series ranked anew.
      const all = [...series[key].values()];
      for (const [i, idx] of (batches[key]?.idx || []).entries()) {
        const s = all[idx];
        s.x.push(batches[key].x[i][0]); s.y.push(batches[key].y[i][0]);
      }
      redraw(key);
      continue;
    }
    const batch = batches[key];
    if (batch) {
      Plotly.extendTraces(`chart-${key}`, { x: batch.x, y: batch.y }, batch.idx, MAX_POINTS);
      const all = [...series[key].values()];
      for (const [i, idx] of batch.idx.entries()) {
        const s = all[idx]; // Plotly has its own copy of the arrays (traceOf)
        s.x.push(batch.x[i][0]); s.y.push(batch.y[i][0]);
        if (s.x.length > MAX_POINTS) { s.x.splice(0, s.x.length - MAX_POINTS); s.y.splice(0, s.y.length - MAX_POINTS); }
      }
    }
    Plotly.relayout(`chart-${key}`, { "xaxis.range": xaxis().range });
  }
  document.body.dataset.points = String(received.count);
}

/** The range picker: the last 5 min, 15 min or hour, sliding with each payload. */
function setRange(seconds) {
  view.range = seconds;
  for (const button of document.querySelectorAll("#range [data-range]")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.range) === seconds));
  }
  if (!view.loaded) return;
  for (const key of Object.keys(CHARTS)) Plotly.relayout(`chart-${key}`, { "xaxis.range": xaxis().range });
}

for (const button of document.querySelectorAll("#range [data-range]")) {
  button.addEventListener("click", () => setRange(Number(button.dataset.range)));
}
document.querySelector("#all-series")?.addEventListener("change", (event) => {
  view.all = event.target.checked;
  for (const key of Object.keys(CHARTS)) if (CHARTS[key].ranked) redraw(key);
});
setRange(view.range);

for (const [key, chart] of Object.entries(CHARTS)) Plotly.newPlot(`chart-${key}`, [], layoutOf(chart), CONFIG);

window.invokerMetrics.socket = connectMetrics(NAME, {
  onPayload, onState: (s) => showConnection(document.querySelector("#conn"), s),
});

async function loadHistory() {
  let samples = [];
  try {
    ({ data: { samples } } = await api("GET", `/deployments/${NAME}/metrics/history/?seconds=3600`));
  } catch (error) {
    ROOT.dataset.historyError = error.message; // drawn live from now on, which the page says
  }
  drawHistory(samples);
  view.loaded = true;
  const last = samples.at(-1)?.time ?? 0;
  for (const payload of early.splice(0)) if ((payload.time || 0) > last) onPayload(payload);
}

loadHistory();
loadStatus(NAME, document.querySelector("#status")).catch(() => {});
