// Live metrics: each websocket payload extends the Plotly traces in place (new pods,
// entities or partitions add traces). The page never polls; a lost socket reconnects.
/* global Plotly */
import { connectMetrics, loadStatus, renderStatus, showConnection } from "./common.js";

const NAME = document.querySelector("#metrics").dataset.name;
const MAX_POINTS = 900; // 30 minutes at one payload per 2 s
const CHARTS = {
  pods: { title: "Pods running per entity", y: "pods" },
  records: { title: "Throughput per pod (records/s)", y: "records/s" },
  bytes: { title: "Throughput per pod (bytes/s)", y: "bytes/s" },
  lag: { title: "Consumer lag per partition", y: "records" },
  reconcile: { title: "Reconciles (count) and last duration (ms)", y: "count", y2: "ms" },
};
const traces = Object.fromEntries(Object.keys(CHARTS).map((k) => [k, new Map()]));
const received = { count: 0 };
window.invokerMetrics = { received, traces };

for (const [key, chart] of Object.entries(CHARTS)) {
  const layout = {
    title: { text: chart.title }, height: 300, margin: { l: 55, r: 55, t: 40, b: 40 },
    xaxis: { type: "date" }, yaxis: { title: { text: chart.y }, rangemode: "tozero" }, showlegend: true,
  };
  if (chart.y2) {
    layout.yaxis2 = { title: { text: chart.y2 }, overlaying: "y", side: "right", rangemode: "tozero" };
    layout.legend = { x: 1.12 };
  }
  Plotly.newPlot(`chart-${key}`, [], layout, { responsive: true, displaylogo: false });
}

/** Appends (time, value) to the named series of a chart, adding the trace the first time. */
function collect(batches, chart, series, value, extra = {}) {
  if (value === undefined || value === null || Number.isNaN(value)) return;
  const index = traces[chart];
  if (!index.has(series)) {
    index.set(series, index.size);
    Plotly.addTraces(`chart-${chart}`, { x: [], y: [], name: series, mode: "lines+markers", ...extra });
  }
  const batch = (batches[chart] ||= { x: [], y: [], idx: [] });
  batch.idx.push(index.get(series));
  batch.x.push([]); batch.y.push([]);
  batch.x[batch.x.length - 1].push(batches.time);
  batch.y[batch.y.length - 1].push(value);
}

function onPayload(payload) {
  received.count += 1;
  renderStatus(document.querySelector("#status"), payload.status || {});
  const batches = { time: new Date((payload.time || Date.now() / 1000) * 1000) };
  for (const [entity, info] of Object.entries(payload.entities || {})) collect(batches, "pods", entity, info.pods);
  for (const pod of payload.pods || []) {
    collect(batches, "records", `${pod.name} in`, pod.recordsInPerSec);
    collect(batches, "records", `${pod.name} out`, pod.recordsOutPerSec, { line: { dash: "dot" } });
    collect(batches, "bytes", `${pod.name} in`, pod.bytesInPerSec);
    collect(batches, "bytes", `${pod.name} out`, pod.bytesOutPerSec, { line: { dash: "dot" } });
  }
  for (const [entity, partitions] of Object.entries(payload.lag || {})) {
    for (const [partition, lag] of Object.entries(partitions)) collect(batches, "lag", `${entity}[${partition}]`, lag);
  }
  const status = payload.status || {};
  collect(batches, "reconcile", "reconciles", status.reconcileCount);
  collect(batches, "reconcile", "last duration", status.lastReconcile?.durationMs, { yaxis: "y2", line: { dash: "dot" } });
  for (const chart of Object.keys(CHARTS)) {
    const batch = batches[chart];
    if (batch) Plotly.extendTraces(`chart-${chart}`, { x: batch.x, y: batch.y }, batch.idx, MAX_POINTS);
  }
  document.body.dataset.points = String(received.count);
}

window.invokerMetrics.socket = connectMetrics(NAME, {
  onPayload, onState: (s) => showConnection(document.querySelector("#conn"), s),
});

loadStatus(NAME, document.querySelector("#status")).catch(() => {});
