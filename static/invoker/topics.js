// The topics page: every topic the deployment uses, read from the broker by the server
// (invoker_web/topics.py): partitions against the spec, end offsets, the entity's committed
// offsets and lag per partition. The table is read again when a metrics message arrives over the
// deployment's websocket (at most every MIN_GAP_MS) and at least every data-refresh-seconds;
// the page keeps the last samples of each partition for the lag's trend and the records/s, and
// opens with those the server kept of the last minutes (topology_editor/topic_history.py).
// Editors and operators may peek at a partition's last records and follow it for a bounded time.
import { api, connectMetrics, loadStatus, renderStatus, showConnection } from "./common.js";

const ROOT = document.querySelector("#topics");
const NAME = ROOT.dataset.name;
const CAN_PEEK = ROOT.dataset.canPeek === "1";
const REFRESH_MS = Number(ROOT.dataset.refreshSeconds) * 1000;
const MIN_GAP_MS = 2000;
const KEEP = 30; // samples kept per partition for the trend
const LIMITS = CAN_PEEK ? JSON.parse(document.getElementById("peek-limits").textContent) : {};
const $ = (id) => document.getElementById(id);
const state = { reads: 0, busy: false, last: 0, seeded: false, history: {}, table: null, peek: null };
window.invokerTopics = state; // for the browser tests and debugging

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));

/** The server's kept samples (`?history=1`, asked when the page opens): the trend and the
 * records/s start from the last minutes instead of from this visit. */
function seed(history) {
  for (const sample of (history || []).slice(-KEEP)) {
    for (const [key, [end, lag]] of Object.entries(sample.partitions)) {
      (state.history[key] ||= []).push({ time: sample.time, end, lag });
    }
  }
}

/** Remembers this read's end offset and lag of each partition; returns {rate, trend, lags}. */
function remember(topic, partition, end, lag, time) {
  const key = `${topic}/${partition}`;
  const samples = (state.history[key] ||= []);
  if (!samples.length || samples[samples.length - 1].time !== time) samples.push({ time, end, lag });
  if (samples.length > KEEP) samples.splice(0, samples.length - KEEP);
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = last.time - first.time;
  const rate = seconds > 0 ? Math.max(0, (last.end - first.end) / seconds) : null;
  let trend = "flat";
  if (lag !== null && samples.length > 1 && first.lag !== null) {
    if (last.lag > first.lag) trend = "up";
    else if (last.lag < first.lag) trend = "down";
  }
  return { rate, trend, lags: samples.map((s) => s.lag ?? 0) };
}

/** A sparkline of the kept lags (SVG attributes only: the CSP allows no inline style). */
function sparkline(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", "60");
  svg.setAttribute("height", "16");
  if (values.length > 1) {
    const top = Math.max(...values, 1);
    const points = values.map((v, i) => `${(i * 60) / (values.length - 1)},${15 - (v / top) * 14}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.append(line);
  }
  return svg;
}

const ARROWS = { up: "↑", down: "↓", flat: "→" };

function partitionRow(topic, p, time) {
  const seen = remember(topic.topic, p.partition, p.end, p.lag, time);
  const lagCell = topic.group
    ? el("td", { class: "num", "data-col": "lag" }, fmt(p.lag), " ",
      el("span", { class: "trend", "data-trend": seen.trend, title: `lag ${seen.trend} over the kept samples` }, ARROWS[seen.trend]),
      " ", sparkline(seen.lags))
    : el("td", { class: "num muted" }, "–");
  return el("tr", { class: "partition", "data-topic": topic.topic, "data-partition": p.partition },
    el("td"), el("td", {}, `partition ${p.partition}`),
    el("td", { class: "num", "data-col": "end" }, fmt(p.end)),
    el("td", { class: "num", "data-col": "committed" }, topic.group ? fmt(p.committed) : "–"),
    lagCell,
    el("td", { class: "num", "data-col": "rate" }, seen.rate === null ? "–" : seen.rate.toFixed(1)),
    el("td"));
}

/** Changelogs and dead-letter topics are made by the pods when first needed (a stateless entity
 * never has a changelog): not existing yet is no problem, so they do not read "missing". */
const MADE_ON_FIRST_USE = new Set(["changelog", "dead-letter"]);

function topicRow(topic) {
  const absent = MADE_ON_FIRST_USE.has(topic.role) ? "none yet" : "missing";
  const count = topic.exists ? `${topic.partitions}${topic.declared !== null ? ` / ${topic.declared}` : ""}` : absent;
  const peek = CAN_PEEK && topic.exists
    ? el("button", { type: "button", class: "peek-open", "data-topic": topic.topic }, "Peek")
    : "";
  return el("tr", { class: "topic", "data-topic": topic.topic, "data-role": topic.role, "data-exists": topic.exists ? "1" : "0" },
    el("td", {}, topic.role),
    el("td", {}, el("code", {}, topic.topic),
      topic.problem ? el("div", { class: "error", "data-problem": "1" }, topic.problem) : null),
    el("td", { class: "num", "data-col": "partitions", title: "partitions / the spec's count" }, count),
    el("td", { class: "num muted" }, topic.group ? el("span", { title: "consumer group" }, topic.group) : ""),
    el("td", { class: "num", "data-col": "lag" }, topic.group ? fmt(topic.lag) : "–"),
    el("td"),
    el("td", {}, peek));
}

function render(table) {
  if (!state.seeded) seed(table.history);
  state.seeded = true;
  state.table = table;
  const time = table.time;
  const byEntity = {};
  for (const topic of table.topics) (byEntity[topic.entity] ||= []).push(topic);
  const sections = Object.entries(byEntity).map(([entity, topics]) => {
    const body = el("tbody");
    for (const topic of topics) {
      body.append(topicRow(topic));
      for (const p of topic.rows) body.append(partitionRow(topic, p, time));
    }
    const head = el("thead", {}, el("tr", {}, el("th", {}, "Role"), el("th", {}, "Topic"),
      el("th", { class: "num" }, "Partitions"), el("th", { class: "num" }, "Committed"),
      el("th", { class: "num" }, "Lag"), el("th", { class: "num" }, "Records/s"), el("th")));
    return el("section", { class: "topics-entity", "data-entity": entity },
      el("h2", {}, entity), el("table", { class: "list topics" }, head, body));
  });
  $("topics-table").replaceChildren(...sections);
  const errors = Object.values(table.brokerErrors || {});
  showError("topics-error", errors.join(" · "));
  $("topics-updated").textContent = `read ${new Date(time * 1000).toLocaleTimeString()}`;
  ROOT.dataset.reads = String(++state.reads);
  if (state.reads === 1) openAsked();
}

/** `?peek=TOPIC` (the editor's edges link here): opens the peek at it, or marks its row. */
function openAsked() {
  const asked = new URLSearchParams(location.search).get("peek");
  const topic = asked && state.table.topics.find((t) => t.topic === asked && t.exists);
  if (!topic) return;
  if (CAN_PEEK) openPeek(asked);
  const row = document.querySelector(`tr.topic[data-topic="${CSS.escape(asked)}"]`);
  row?.setAttribute("data-asked", "1");
  row?.scrollIntoView({ block: "center" });
}

function showError(id, message) {
  $(id).hidden = !message;
  $(id).textContent = message || "";
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  state.last = Date.now();
  try {
    const first = state.seeded ? "" : "?history=1";
    render((await api("GET", `/deployments/${NAME}/topics/data/${first}`)).data);
  } catch (error) {
    showError("topics-error", `Could not read the topics: ${error.message}`);
    ROOT.dataset.reads = String(++state.reads);
  } finally {
    state.busy = false;
  }
}

// ---- the peek ----

function field(value) {
  if (!value) return el("span", { class: "muted" }, "null");
  const cut = value.truncated ? ` … (${fmt(value.bytes)} bytes)` : "";
  const encoding = value.encoding === "utf-8" ? null : el("span", { class: "encoding" }, value.encoding);
  return el("span", {}, value.text + cut, encoding); // text, never markup
}

function showRecords(partition, records, replace) {
  const body = $("peek-records");
  const rows = records.map((r) => el("tr", { "data-offset": r.offset },
    el("td", {}, partition), el("td", {}, r.offset),
    el("td", {}, r.timestamp >= 0 ? new Date(r.timestamp).toISOString() : "–"),
    el("td", { "data-col": "key" }, field(r.key)), el("td", { "data-col": "value" }, field(r.value))));
  if (replace) body.replaceChildren(...rows);
  else body.append(...rows);
  $("peek").dataset.records = String(body.children.length);
}

function setPeekState(s, text) {
  $("peek-state").dataset.state = s;
  $("peek-state").textContent = text;
}

function openPeek(topicName) {
  stopFollow();
  const topic = state.table.topics.find((t) => t.topic === topicName);
  $("peek").hidden = false;
  $("peek-topic").textContent = topicName;
  const select = $("peek-partition");
  select.replaceChildren(...topic.rows.map((p) => el("option", { value: p.partition }, p.partition)));
  $("peek-records").replaceChildren();
  showError("peek-error", "");
  state.peek = { topic: topicName };
  read();
}

async function peekOnce(from) {
  const { topic } = state.peek;
  const params = new URLSearchParams({ topic, partition: $("peek-partition").value, limit: $("peek-limit").value });
  if (from !== undefined) params.set("from", String(from));
  return (await api("GET", `/deployments/${NAME}/topics/peek/?${params}`)).data;
}

async function read() {
  stopFollow();
  showError("peek-error", "");
  const mine = (state.peek.reads = (state.peek.reads || 0) + 1);
  setPeekState("reading", "reading…");
  try {
    const data = await peekOnce();
    if (mine !== state.peek.reads) return;
    showRecords(data.partition, data.records, true);
    setPeekState("idle", data.truncated ? "more records than the byte budget: the newest were left out" : "");
    if ($("peek-follow").checked) follow(data.next);
  } catch (error) {
    if (mine !== state.peek.reads) return;
    setPeekState("idle", "");
    showError("peek-error", error.message);
  }
}

/** Reads what the partition gains every tailEverySeconds, until the time or record bound. */
function follow(next) {
  const started = Date.now();
  let shown = 0;
  const mine = state.peek.reads;
  setPeekState("following", "following");
  const tick = async () => {
    if (mine !== state.peek.reads || !$("peek-follow").checked) return;
    if (Date.now() - started > LIMITS.tailSeconds * 1000 || shown >= LIMITS.tailRecords) {
      setPeekState("stopped", `follow stopped after ${LIMITS.tailSeconds} s or ${LIMITS.tailRecords} records; read again to go on`);
      $("peek-follow").checked = false;
      return;
    }
    try {
      const data = await peekOnce(next);
      if (mine !== state.peek.reads) return;
      if (data.skipped) showError("peek-error", `${fmt(data.skipped)} records were passed over to keep up`);
      showRecords(data.partition, data.records, false);
      shown += data.records.length;
      next = data.next;
    } catch (error) {
      showError("peek-error", error.message); // a broker outage: say so, and try again on the next tick
    }
    state.peek.timer = setTimeout(tick, LIMITS.tailEverySeconds * 1000);
  };
  state.peek.timer = setTimeout(tick, LIMITS.tailEverySeconds * 1000);
}

function stopFollow() {
  if (state.peek && state.peek.timer) clearTimeout(state.peek.timer);
  if (state.peek) state.peek.reads = (state.peek.reads || 0) + 1;
  if ($("peek-state")) setPeekState("idle", "");
}

if (CAN_PEEK) {
  $("topics-table").addEventListener("click", (event) => {
    const button = event.target.closest(".peek-open");
    if (button) openPeek(button.dataset.topic);
  });
  $("peek-read").addEventListener("click", read);
  $("peek-partition").addEventListener("change", read);
  $("peek-follow").addEventListener("change", () => ($("peek-follow").checked ? read() : stopFollow()));
  $("peek-close").addEventListener("click", () => { stopFollow(); $("peek").hidden = true; });
}

connectMetrics(NAME, {
  onPayload: (payload) => {
    renderStatus($("status"), payload.status || {});
    if (Date.now() - state.last >= MIN_GAP_MS) refresh();
  },
  onState: (s) => showConnection($("conn"), s),
});
setInterval(() => { if (Date.now() - state.last >= REFRESH_MS) refresh(); }, 1000);
refresh();
loadStatus(NAME, $("status")).catch(() => {});
