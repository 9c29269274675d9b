// Canary panel of the metrics page (issue 16, item 5): for each entity running a canary (pods
// whose own executorImage differs from the entity's), its canary pods and the other pods side by
// side, from each websocket payload: throughput, dead-letter and error rates, UDF latency and lag,
// per pod. Operators get Promote (one pod at a time, the server goes on by itself), Abort, and a
// form starting a canary on chosen pods. Viewers see the comparison only.
import { api, connectMetrics, escapeHtml } from "./common.js";

const ROOT = typeof document === "undefined" ? null : document.querySelector("#canary"); // Node tests: no page
const NAME = ROOT?.dataset.name;
const CAN_ACT = ROOT?.dataset.canRebalance === "1";
const state = { spec: null, version: null, payload: null, busy: false };
if (ROOT) window.invokerCanary = state; // for the browser tests

/** The canaries of ``spec`` (a manifest's spec): per entity, the image on trial and its pods. */
export function canaries(spec) {
  const found = [];
  for (const entity of spec.statefulEntities) {
    const trial = entity.pods.filter((p) => p.executorImage && p.executorImage !== entity.executorImage);
    if (!trial.length) continue;
    const names = new Set(trial.map((p) => p.name));
    found.push({
      entity: entity.name, image: trial[0].executorImage, current: entity.executorImage,
      canary: trial, stable: entity.pods.filter((p) => !names.has(p.name)),
    });
  }
  return found;
}

/** One group's figures from a payload: per-pod averages of the rates, the mean UDF latency (ms)
 * over every call of the group, and the lag of the group's partitions. */
export function figures(pods, payload, entity) {
  const names = new Set(pods.map((p) => p.name));
  const samples = (payload?.pods || []).filter((p) => p.entity === entity && names.has(p.name));
  const mean = (field) => (samples.length ? samples.reduce((s, p) => s + (p[field] || 0), 0) / samples.length : null);
  const calls = samples.reduce((s, p) => s + (p.udfCallsPerSec || 0), 0);
  const seconds = samples.reduce((s, p) => s + (p.udfSecondsPerSec || 0), 0);
  const lags = payload?.lag?.[entity] || {};
  const owned = pods.flatMap((p) => p.partitions.map(String));
  return {
    records: mean("recordsInPerSec"),
    deadLetters: mean("deadLettersPerSec"),
    errors: mean("errorsPerSec"),
    latencyMs: calls > 0 ? (seconds / calls) * 1000 : null,
    lag: owned.some((p) => p in lags) ? owned.reduce((s, p) => s + (lags[p] || 0), 0) : null,
    reporting: samples.length,
  };
}

const ROWS = [
  ["records", "Throughput per pod (records/s)"],
  ["deadLetters", "Dead letters per pod (/s)"],
  ["errors", "Errors per pod (/s)"],
  ["latencyMs", "UDF latency (ms per batch)"],
  ["lag", "Lag of their partitions (records)"],
];

function shown(value) {
  return value === null || value === undefined ? "—" : (Math.round(value * 100) / 100).toString();
}

function render() {
  if (!state.spec) return;
  const found = canaries(state.spec);
  const tables = found.map((c) => {
    const a = figures(c.canary, state.payload, c.entity);
    const b = figures(c.stable, state.payload, c.entity);
    const rows = ROWS.map(([key, label]) => `<tr data-row="${key}"><th>${label}</th><td class="canary-side">${shown(a[key])}</td><td class="stable-side">${shown(b[key])}</td></tr>`).join("");
    const buttons = CAN_ACT ? `<div class="toolbar"><button class="canary-promote primary" data-entity="${escapeHtml(c.entity)}">Promote</button>
      <button class="canary-abort danger" data-entity="${escapeHtml(c.entity)}">Abort</button></div>` : "";
    return `<section class="canary-entity" data-entity="${escapeHtml(c.entity)}"><h3>Canary of ${escapeHtml(c.image)} on ${escapeHtml(c.entity)}</h3>
      <table class="list"><thead><tr><th></th><th>Canary: ${escapeHtml(c.canary.map((p) => p.name).join(", "))}</th>
      <th>Current (${escapeHtml(c.current)}): ${escapeHtml(c.stable.map((p) => p.name).join(", ") || "none")}</th></tr></thead>
      <tbody>${rows}</tbody></table>${buttons}</section>`;
  }).join("");
  const empty = found.length ? "" : '<p class="muted canary-none">No canary runs.</p>';
  ROOT.querySelector(".canary-list").innerHTML = tables + empty;
}

async function load() {
  const { data } = await api("GET", `/api/deployments/${encodeURIComponent(NAME)}/`);
  state.spec = data.spec;
  state.version = data.metadata.resourceVersion;
  render();
  if (CAN_ACT) fillForm();
}

function fillForm() {
  const select = ROOT.querySelector("#canary-entity");
  if (!select || select.options.length) return;
  select.innerHTML = state.spec.statefulEntities.map((e) => `<option>${escapeHtml(e.name)}</option>`).join("");
}

function say(text, kind) {
  const message = ROOT.querySelector(".canary-message");
  message.textContent = text;
  message.className = `canary-message ${kind}`;
}

// One action at a time, and its message only once the page has re-read the deployment: the next
// action is sent with the version that action made. (A click on Abort right after "Promoting"
// used to carry the version from before the promote, and was refused as a conflict.) A `body`'s
// own `resource_version` wins over the page's (see Abort).
async function act(path, body, done) {
  if (state.busy) return;
  state.busy = true;
  const url = `/api/deployments/${encodeURIComponent(NAME)}/entities/${path}`;
  try {
    const { data } = await api("POST", url, { resource_version: Number(state.version), ...body });
    await reload();
    say(`${done(data)} (revision ${data.revision}).`, "ok");
  } catch (error) {
    await reload(); // a conflict: the page shows what changed, and a retry sends the new version
    say(`Refused: ${error.message}`, "error");
  } finally {
    state.busy = false;
  }
}

async function reload() {
  try {
    await load();
  } catch (error) {
    say(`Could not reload ${NAME}: ${error.message}`, "error");
  }
}

function install() {
  ROOT.hidden = false;
  ROOT.innerHTML = `<h2>Canary</h2><p class="canary-message" role="status"></p><div class="canary-list"></div>
    ${CAN_ACT ? `<form id="canary-start" class="toolbar"><label>Entity <select id="canary-entity"></select></label>
      <label>Pods <input id="canary-pods" placeholder="pod-1, pod-2"></label>
      <label>Image <input id="canary-image" placeholder="registry/udf:2.0"></label>
      <button type="submit">Start canary</button></form>` : ""}`;
  ROOT.addEventListener("click", (event) => {
    const button = event.target.closest("button.canary-promote, button.canary-abort");
    if (!button) return;
    const entity = encodeURIComponent(button.dataset.entity);
    if (button.classList.contains("canary-promote")) {
      act(`${entity}/canary/promote/`, {}, (d) => (d.promoted
        ? `Promoting: ${d.promoted} runs the new image; the next pods follow one at a time`
        : "Promoted: the new image is the entity's"));
    } else {
      // Sent without a version: a promotion goes on by itself, one revision per pod, so the version
      // the page read may be behind by then, and an abort must stop it whatever step it reached.
      act(`${entity}/canary/abort/`, { resource_version: undefined }, () => "Aborted: every pod is back on the current image");
    }
  });
  ROOT.querySelector("#canary-start")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const entity = ROOT.querySelector("#canary-entity").value;
    const pods = ROOT.querySelector("#canary-pods").value.split(",").map((p) => p.trim()).filter(Boolean);
    const image = ROOT.querySelector("#canary-image").value.trim();
    act(`${encodeURIComponent(entity)}/canary/`, { pods, image }, (d) => `Canary started on ${d.canary.canary_pods.join(", ")}`);
  });
  connectMetrics(NAME, { onPayload: (payload) => { state.payload = payload; render(); }, onState: () => {} });
  load().catch((error) => say(`Could not load ${NAME}: ${error.message}`, "error"));
}

if (ROOT) install();
