// The topology editor: entities are nodes, topics are edges (one entity's output topic is
// another's input topic); partitions are chips dragged between pods. Every edit is local
// until Save; undo/redo walk local snapshots. Save sends one request per intent, with If-Match:
// edits that only moved partitions go as a batch of moves (`moves/`: the audit says "moved
// partition 3 of splitter from splitter-1 to splitter-0"), anything else as the whole manifest
// (PUT), whose audit entry names the moves it also made. Either way one revision.
import { api, connectMetrics, escapeHtml, loadStatus, renderStatus, showConnection } from "./common.js";
import { toYaml } from "./yaml.js";
import { planByLoad } from "./rebalance.js";

const root = document.querySelector("#editor");
const NAME = root.dataset.name;
const CAN_CHANGE = root.dataset.canChange === "1";
const CAN_REBALANCE = root.dataset.canRebalance === "1";
const URL_ = `/api/deployments/${NAME}/`;
const $ = (selector) => document.querySelector(selector);

const state = {
  spec: null, saved: "", version: null, undo: [], redo: [], selected: null, errors: [], phases: {},
  picked: new Set(), // multi-selected chips, "entity/partition", all of one entity
};
window.invokerEditor = state; // for the browser tests and debugging

const entities = () => state.spec.statefulEntities;
// What is on screen, so that a render changes only what changed (issue 14: at 100 x 20 a full
// re-render took about a second). `keys[i]` is what entity i's node was drawn from, `layout`
// the columns; `owners` the saved pod of each partition (chips moved since are marked).
const view = {
  epoch: 0, keys: [], layout: null, owners: {}, edges: "", panel: "", dirty: null,
  pending: new Set(), filling: null, drawn: [], // nodes drawn without their pods yet (see fillPending)
};
const dirty = () => JSON.stringify(state.spec) !== state.saved;
const message = (text, kind = "") => { const m = $("#message"); m.textContent = text; m.className = kind; };

// --- Loading and saving -------------------------------------------------------------------
function adopt(manifest) {
  state.spec = manifest.spec;
  state.saved = JSON.stringify(manifest.spec);
  view.owners = savedOwners();
  view.epoch += 1; // every node shows its chips against the new saved spec
  state.version = manifest.metadata.resourceVersion;
  if (manifest.status) renderStatus($("#status"), manifest.status, "initial");
}

async function load() {
  const started = performance.now();
  const { data } = await api("GET", URL_);
  const fetched = performance.now();
  adopt(data);
  state.undo = []; state.redo = [];
  render();
  const done = performance.now();
  document.body.dataset.loadedMs = (done - started).toFixed(1);
  document.body.dataset.renderMs = (done - fetched).toFixed(1);
  document.body.dataset.firstPassPods = String(document.querySelectorAll("#nodes .pod").length);
  // Including the paint: the next frame after the render (benchmarks/editor_open.py).
  requestAnimationFrame(() => setTimeout(() => { document.body.dataset.frameMs = (performance.now() - fetched).toFixed(1); }));
  await allDrawn(); // "loaded" means every chip is in the DOM, off-screen ones included
  document.body.dataset.drawnMs = (performance.now() - fetched).toFixed(1);
  document.body.dataset.loaded = "1";
}

function manifest() {
  return {
    apiVersion: "invokeroperator.invoker.io/v1alpha1", kind: "InvokerDeployment",
    metadata: { name: NAME, resourceVersion: state.version }, spec: state.spec,
  };
}

// The moves from the saved spec to the edited one, or null when anything else changed too.
function onlyMoves() {
  const saved = JSON.parse(state.saved);
  const withoutPartitions = (spec) => JSON.stringify(spec, (key, value) => (key === "partitions" ? undefined : value));
  if (withoutPartitions(saved) !== withoutPartitions(state.spec)) return null;
  const moves = [];
  for (const [i, e] of entities().entries()) {
    const before = new Map(saved.statefulEntities[i].pods.flatMap((pod) => pod.partitions.map((p) => [String(p), pod.name])));
    const after = e.pods.flatMap((pod) => pod.partitions.map((p) => [String(p), pod.name, p]));
    if (after.length !== before.size || after.some(([p]) => !before.has(p))) return null; // added or removed
    const moved = after.filter(([p, pod]) => before.get(p) !== pod).sort((a, b) => Number(a[2]) - Number(b[2]));
    moves.push(...moved.map(([, pod, raw]) => ({ entity: e.name, partition: raw, to_pod: pod })));
  }
  return moves.length ? moves : null;
}

async function saveMoves(moves) {
  const { data } = await api("POST", `${URL_}moves/`, { moves }, { ifMatch: `"${state.version}"` });
  adopt((await api("GET", URL_)).data);
  return data.revision;
}

async function saveManifest() {
  const { data } = await api("PUT", URL_, manifest(), { ifMatch: `"${state.version}"` });
  adopt(data);
  return data.metadata.annotations["invoker.io/revision"];
}

async function save() {
  message("Saving…");
  try {
    const moves = onlyMoves();
    const revision = moves ? await saveMoves(moves) : await saveManifest();
    state.errors = [];
    message(`Saved revision ${revision}; reconcile requested.`, "ok");
  } catch (error) {
    state.errors = error.fields.length ? error.fields : [{ path: "", message: error.message }];
    message(error.status === 412 ? "Someone else saved this deployment meanwhile: reload to see it." : "Not saved.", "error");
  }
  render();
}

// --- Edits, undo and redo -----------------------------------------------------------------
function change(mutate) {
  if (!CAN_CHANGE) return;
  state.undo.push(JSON.stringify(state.spec));
  state.redo = [];
  mutate(state.spec);
  state.errors = [];
  render();
}

function step(from, to) {
  if (!from.length) return;
  to.push(JSON.stringify(state.spec));
  state.spec = JSON.parse(from.pop());
  state.errors = [];
  render();
}

function uniqueName(base) {
  const taken = new Set(entities().flatMap((e) => [e.name, ...e.pods.map((p) => p.name)]));
  let n = entities().length + 1;
  while (taken.has(`${base}-${n}`) || taken.has(`${base}-${n}-0`)) n += 1;
  return `${base}-${n}`;
}

function addEntity() {
  change((spec) => {
    const name = uniqueName("entity");
    spec.statefulEntities.push({
      name, executorImage: "invoker/executor:0.1", ioImage: "invoker/io-sidecar:0.1",
      stateImage: "invoker/state-sidecar:0.1", ioAddress: "127.0.0.1:9092",
      inputTopic: `${name}-in`, outputTopic: `${name}-out`,
      pods: [{ name: `${name}-0`, partitions: [0], resources: {} }],
    });
    state.selected = spec.statefulEntities.length - 1;
  });
}

function rename(entity, name) {
  const old = entity.name;
  entity.name = name;
  for (const pod of entity.pods) {
    if (pod.name.startsWith(`${old}-`)) pod.name = name + pod.name.slice(old.length);
  }
  // Generated topic names follow the entity, at both ends of its edges.
  const renamed = { [`${old}-in`]: `${name}-in`, [`${old}-out`]: `${name}-out` };
  for (const other of entities()) {
    if (renamed[other.inputTopic]) other.inputTopic = renamed[other.inputTopic];
    if (renamed[other.outputTopic]) other.outputTopic = renamed[other.outputTopic];
  }
}

function connect(source, target) {
  if (!source.outputTopic) source.outputTopic = `${source.name}-out`;
  target.inputTopic = source.outputTopic;
}

/** Pod index of the "unassigned" pool: partitions of the declared count that no pod owns. */
const POOL = -1;

/** The partitions of entity `e`'s declared input count that no pod owns (none when undeclared). */
function unassigned(e) {
  if (!Number.isInteger(e.inputPartitions)) return [];
  const owned = new Set(e.pods.flatMap((pod) => pod.partitions.map(String)));
  return [...Array(e.inputPartitions).keys()].filter((p) => !owned.has(String(p)));
}

function movePartition(e, fromPod, toPod, partition) {
  movePartitions(e, [{ pod: fromPod, partition }], toPod);
}

/** Moves chips of entity `e` (each `{pod, partition}`, POOL for the pool) to `toPod`, as one undo step. */
function movePartitions(e, chips, toPod) {
  const moving = chips.filter((c) => Number(c.pod) !== toPod);
  if (!moving.length) return;
  change((spec) => {
    const pods = spec.statefulEntities[e].pods;
    for (const { pod, partition } of moving) {
      const from = pods[Number(pod)];
      if (from) from.partitions = from.partitions.filter((p) => String(p) !== String(partition));
      if (toPod !== POOL) pods[toPod].partitions = [...pods[toPod].partitions, Number(partition)].sort((a, b) => a - b);
    }
    state.picked.clear();
  });
  const where = toPod === POOL ? "the unassigned pool" : entities()[e].pods[toPod].name;
  const what = moving.length === 1 ? `Partition ${moving[0].partition}` : `Partitions ${moving.map((c) => c.partition).join(", ")}`;
  message(`${what} moved to ${where} (unsaved).`);
}

// --- Rendering -----------------------------------------------------------------------------
function layers() {
  const byInput = new Map();
  entities().forEach((e, i) => { if (e.inputTopic) byInput.set(e.inputTopic, [...(byInput.get(e.inputTopic) || []), i]); });
  const edges = [];
  entities().forEach((e, i) => {
    for (const j of (e.outputTopic && byInput.get(e.outputTopic)) || []) if (j !== i) edges.push([i, j, e.outputTopic]);
  });
  const depth = entities().map(() => 0);
  for (let round = 0; round < entities().length; round += 1) {
    let moved = false;
    for (const [i, j] of edges) if (depth[j] < depth[i] + 1 && depth[i] + 1 < entities().length) { depth[j] = depth[i] + 1; moved = true; }
    if (!moved) break;
  }
  return { edges, depth };
}

function savedOwners() {
  const owners = {};
  for (const e of JSON.parse(state.saved || '{"statefulEntities":[]}').statefulEntities) {
    for (const pod of e.pods) for (const p of pod.partitions) owners[`${e.name}/${p}`] = pod.name;
  }
  return owners;
}

function chipHtml(i, j, p, owner, moved) {
  const picked = state.picked.has(`${i}/${p}`);
  return `<span class="chip${moved ? " changed" : ""}${picked ? " picked" : ""}" draggable="${CAN_CHANGE}" tabindex="0" role="button"
    aria-label="partition ${escapeHtml(p)} of ${escapeHtml(owner)}; arrow up or down moves it, shift-click picks several"
    aria-pressed="${picked}" data-entity="${i}" data-pod="${j}" data-partition="${escapeHtml(p)}">${escapeHtml(p)}</span>`;
}

function poolHtml(e, i) {
  if (!Number.isInteger(e.inputPartitions)) return "";
  const pool = unassigned(e);
  const warning = pool.length
    ? `<p class="unassigned-warning" role="note">${pool.length} partition(s) unassigned: they will not be processed.</p>` : "";
  return `<li class="pool" data-entity="${i}" data-pod="${POOL}"><span class="podname">unassigned</span>
    <span class="chips">${pool.map((p) => chipHtml(i, POOL, p, "the unassigned pool", false)).join("")}</span></li>${warning}`;
}

function entityHtml(e, i, owners, invalid, withPods = true) {
  const pods = !withPods ? "" : e.pods.map((pod, j) => {
    const chips = pod.partitions.map((p) => {
      const moved = owners[`${e.name}/${p}`] !== undefined && owners[`${e.name}/${p}`] !== pod.name;
      return chipHtml(i, j, p, pod.name, moved);
    }).join("");
    return `<li class="pod" data-entity="${i}" data-pod="${j}" data-name="${escapeHtml(pod.name)}" data-phase="${escapeHtml(state.phases[pod.name] || "")}">
      <span class="podname">${escapeHtml(pod.name)}</span><span class="chips">${chips}</span></li>`;
  }).join("");
  const classes = ["entity", i === state.selected ? "selected" : "", invalid.has(i) ? "invalid" : ""].join(" ");
  const rebalance = `<button class="rebalance" data-entity="${i}" ${CAN_REBALANCE ? "" : "disabled"}
    title="${CAN_REBALANCE ? "Plan and apply an even split" : "Operators may rebalance"}">Rebalance</button>`;
  return `<div class="${classes}" data-entity="${i}" data-name="${escapeHtml(e.name)}" tabindex="0" role="group"
    aria-label="entity ${escapeHtml(e.name)}; Enter opens its panel">
    <header><b>${escapeHtml(e.name)}</b>${rebalance}</header>
    <div class="topics"><span>${escapeHtml(e.inputTopic)}</span> → <span>${escapeHtml(e.outputTopic)}</span></div>
    <ul class="pods">${pods}${withPods ? poolHtml(e, i) : ""}</ul></div>`;
}

function invalidEntities() {
  const invalid = new Set();
  for (const f of state.errors) {
    const m = /statefulEntities\[(\d+)\]/.exec(f.path || "");
    if (m) invalid.add(Number(m[1]));
  }
  return invalid;
}

// Redraws only the nodes whose entity, selection or validity changed; the columns are rebuilt
// only when the layers change (an entity added, removed or connected differently).
function renderGraph() {
  const { edges, depth } = layers();
  const invalid = invalidEntities();
  const keys = entities().map((e, i) => `${view.epoch}|${invalid.has(i)}|${JSON.stringify(e)}`);
  const layout = JSON.stringify(depth);
  if (layout !== view.layout) {
    // A big graph is drawn in two passes: every node without its pods, then the pods of the
    // nodes in view at once and of the others in slices after the first paint (at 100 x 20 the
    // 11,000 elements took 200-350 ms to parse and lay out, and most are off-screen).
    const deferred = entities().reduce((n, e) => n + e.pods.length, 0) > EAGER_PODS;
    const columns = [];
    entities().forEach((e, i) => { (columns[depth[i]] ||= []).push(entityHtml(e, i, view.owners, invalid, !deferred)); });
    $("#nodes").innerHTML = columns.map((c) => `<div class="column">${(c || []).join("")}</div>`).join("")
      || `<p class="muted empty">No entities yet. ${CAN_CHANGE ? "Add one to start drawing." : ""}</p>`;
    view.pending = new Set(deferred ? entities().keys() : []);
    if (deferred) fillInView();
  } else {
    keys.forEach((key, i) => {
      if (key === view.keys[i]) return;
      const node = document.querySelector(`#nodes .entity[data-entity="${i}"]`);
      node.outerHTML = entityHtml(entities()[i], i, view.owners, invalid);
      view.pending.delete(i);
    });
    // Selection only moves a class: no node is redrawn for it.
    for (const node of document.querySelectorAll("#nodes .entity.selected")) {
      if (Number(node.dataset.entity) !== state.selected) node.classList.remove("selected");
    }
    document.querySelector(`#nodes .entity[data-entity="${state.selected}"]`)?.classList.add("selected");
  }
  view.keys = keys;
  view.layout = layout;
  drawEdges(edges);
  if (view.pending.size && !view.filling) view.filling = setTimeout(fillPending);
}

/** Above this many pods a full redraw defers the pods of the nodes out of view (fillPending). */
const EAGER_PODS = 400;
/** Pixels a deferred node's pod list takes per pod until it is filled (a pod row and its gap). */
const POD_ROW_PX = 30;

/** Draws the pods of pending node `i` (still its entity's current state: an edit redraws a node whole). */
function fill(i) {
  view.pending.delete(i);
  const node = document.querySelector(`#nodes .entity[data-entity="${i}"]`);
  if (!node) return;
  node.outerHTML = entityHtml(entities()[i], i, view.owners, invalidEntities());
  if (view.dirty) document.querySelector(`#nodes .entity[data-entity="${i}"] .rebalance`).disabled = true;
}

/** Fills the pending nodes the canvas shows (with a margin), reading the nodes' boxes once. */
function fillInView() {
  const canvas = $("#canvas");
  for (const list of document.querySelectorAll("#nodes .entity .pods")) {
    list.style.minHeight = `${entities()[list.parentElement.dataset.entity].pods.length * POD_ROW_PX}px`;
  }
  const margin = 200;
  const left = canvas.scrollLeft - margin; const right = canvas.scrollLeft + canvas.clientWidth + margin;
  const top = canvas.scrollTop - margin; const bottom = canvas.scrollTop + canvas.clientHeight + margin;
  const shown = [...document.querySelectorAll("#nodes .entity")].filter((n) => n.offsetLeft < right
    && n.offsetLeft + n.offsetWidth > left && n.offsetTop < bottom && n.offsetTop + n.offsetHeight > top);
  for (const node of shown) fill(Number(node.dataset.entity));
}

/** Fills pending nodes for about 8 ms at a time, between frames, until none is left. */
function fillPending() {
  view.filling = null;
  const until = performance.now() + 8;
  for (const i of view.pending) {
    fill(i);
    if (performance.now() > until) break;
  }
  if (view.pending.size) { view.filling = setTimeout(fillPending); return; }
  drawEdges(layers().edges); // the filled nodes may be taller or shorter than their estimate
  for (const resolve of view.drawn.splice(0)) resolve();
}

/** Resolves once every node has its pods (at once for a graph drawn in one pass). */
function allDrawn() {
  return view.pending.size ? new Promise((resolve) => view.drawn.push(resolve)) : Promise.resolve();
}

function drawEdges(edges) {
  const svg = $("#edges");
  const canvas = $("#canvas");
  // Boxes by entity index, not DOM order: the columns put entities in layer order.
  const box = {};
  for (const n of document.querySelectorAll("#nodes .entity")) {
    box[n.dataset.entity] = { x: n.offsetLeft, y: n.offsetTop, w: n.offsetWidth, h: Math.min(n.offsetHeight, 60) };
  }
  svg.setAttribute("width", canvas.scrollWidth);
  svg.setAttribute("height", canvas.scrollHeight);
  const html = edges.map(([i, j, topic]) => {
    const a = box[i]; const b = box[j];
    const x1 = a.x + a.w; const y1 = a.y + a.h / 2; const x2 = b.x; const y2 = b.y + b.h / 2;
    const mid = (x1 + x2) / 2;
    return `<g class="edge" data-from="${i}" data-to="${j}"><path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}"/>
      <text x="${mid}" y="${(y1 + y2) / 2 - 4}">${escapeHtml(topic)}</text></g>`;
  }).join("");
  if (html !== view.edges) svg.innerHTML = html;
  view.edges = html;
}

const RESOURCE_FIELDS = [["requests", "cpu"], ["requests", "memory"], ["limits", "cpu"], ["limits", "memory"]];

function field(label, path, value, type = "text") {
  return `<label>${label}<input data-path="${path}" type="${type}" value="${escapeHtml(value ?? "")}" ${CAN_CHANGE ? "" : "readonly"}></label>`;
}

// The panel is patched in place when only values changed (the focus stays where it was), and
// rebuilt when its fields changed (another entity selected, a pod added or removed).
function renderPanel() {
  const html = panelHtml();
  if (html !== view.panel) patchPanel($("#panel"), html);
  view.panel = html;
  showFieldErrors();
}

function patchPanel(panel, html) {
  const next = document.createElement("template");
  next.innerHTML = html;
  const shape = (root) => [...root.querySelectorAll("[data-path], select, button, h2, legend")]
    .map((el) => el.dataset.path || (el.tagName === "SELECT" ? el.outerHTML : el.id) || el.outerHTML).join("|");
  if (shape(next.content) === shape(panel)) {
    for (const input of next.content.querySelectorAll("[data-path], select")) {
      const shown = input.id ? panel.querySelector(`#${input.id}`) : panel.querySelector(`[data-path="${CSS.escape(input.dataset.path)}"]`);
      if (shown.value !== input.value) shown.value = input.value;
    }
    return;
  }
  const focused = document.activeElement?.closest("#panel") ? document.activeElement : null;
  const refocus = focused && (focused.dataset.path ? `[data-path="${CSS.escape(focused.dataset.path)}"]` : focused.id && `#${focused.id}`);
  panel.replaceChildren(next.content);
  if (refocus) panel.querySelector(refocus)?.focus();
}

function panelHtml() {
  const i = state.selected;
  const e = i !== null ? entities()[i] : null;
  if (!e) {
    const s = state.spec;
    return `<h2>Deployment</h2>
      ${field("Version", "spec.version", s.version)}
      ${field("Image pull policy", "spec.imagePullPolicy", s.imagePullPolicy)}
      ${field("History limit", "spec.historyLimit", s.historyLimit, "number")}
      ${field("Image pull secrets", "spec.imagePullSecrets", (s.imagePullSecrets || []).map((x) => x.name).join(", "))}
      <p class="muted">Select an entity to edit it.</p>`;
  }
  const base = `spec.statefulEntities[${i}]`;
  const others = entities().map((o, k) => (k === i ? "" : `<option value="${k}">${escapeHtml(o.name)}</option>`)).join("");
  const pods = e.pods.map((pod, j) => `<fieldset class="podfields"><legend>Pod ${j + 1}</legend>
    ${field("Pod name", `${base}.pods[${j}].name`, pod.name)}
    ${field("Partitions", `${base}.pods[${j}].partitions`, pod.partitions.join(", "))}
    ${RESOURCE_FIELDS.map(([section, name]) => field(`${section} ${name}`, `${base}.pods[${j}].resources.${section}.${name}`,
      pod.resources?.[section]?.[name])).join("")}
    <button class="remove-pod" data-pod="${j}" ${CAN_CHANGE ? "" : "disabled"}>Remove pod</button></fieldset>`).join("");
  return `<h2>Entity</h2>
    ${field("Name", `${base}.name`, e.name)}
    ${field("Executor image", `${base}.executorImage`, e.executorImage)}
    ${field("IO image", `${base}.ioImage`, e.ioImage)}
    ${field("State image", `${base}.stateImage`, e.stateImage)}
    ${field("IO address", `${base}.ioAddress`, e.ioAddress)}
    ${field("Input topic", `${base}.inputTopic`, e.inputTopic)}
    ${field("Output topic", `${base}.outputTopic`, e.outputTopic)}
    ${field("Input partitions", `${base}.inputPartitions`, e.inputPartitions, "number")}
    <label>Connect output to <select id="connect" ${CAN_CHANGE ? "" : "disabled"}><option value="">—</option>${others}</select></label>
    <h3>Pods</h3>${pods}
    <div class="toolbar"><button id="add-pod" ${CAN_CHANGE ? "" : "disabled"}>Add pod</button>
    <button id="remove-entity" class="danger" ${CAN_CHANGE ? "" : "disabled"}>Remove entity</button></div>`;
}

function showFieldErrors() {
  const inputs = [...document.querySelectorAll("#panel [data-path]")];
  for (const shown of document.querySelectorAll("#panel .field-error")) shown.remove();
  for (const el of document.querySelectorAll("#panel [aria-invalid]")) el.removeAttribute("aria-invalid");
  const errors = $("#errors");
  if (!state.errors.length && !errors.childElementCount) return;
  errors.innerHTML = state.errors.map((f, k) => `<li><a href="#" data-error="${k}">${escapeHtml(f.path || "deployment")}</a>: ${escapeHtml(f.message)}</li>`).join("");
  for (const f of state.errors) {
    const target = inputs.filter((el) => f.path === el.dataset.path || f.path.startsWith(`${el.dataset.path}.`) || f.path.startsWith(`${el.dataset.path}[`))
      .sort((a, b) => b.dataset.path.length - a.dataset.path.length)[0];
    if (!target) continue;
    target.setAttribute("aria-invalid", "true");
    (target.closest("label") || target).insertAdjacentHTML("afterend", `<span class="field-error">${escapeHtml(f.message)}</span>`);
  }
}

function render() {
  renderGraph();
  renderPanel();
  $("#undo").disabled = !state.undo.length;
  $("#redo").disabled = !state.redo.length;
  const isDirty = dirty();
  $("#save").disabled = !CAN_CHANGE || !isDirty;
  $("#dirty").hidden = !isDirty;
  // Rebalancing plans against the saved spec, so it waits for unsaved edits to be saved.
  if (isDirty !== view.dirty) for (const b of document.querySelectorAll(".rebalance")) b.disabled = !CAN_REBALANCE || isDirty;
  view.dirty = isDirty;
  if (!$("#yaml-view").hidden && !yamlEdited()) showYaml();
}

// The text last put in the YAML box: anything else there was typed by the user.
let yamlShown = "";
const yamlEdited = () => !$("#yaml-view").hidden && $("#yaml").value !== yamlShown;
function showYaml() {
  yamlShown = toYaml(manifestForYaml());
  $("#yaml").value = yamlShown;
}

function manifestForYaml() {
  const m = manifest();
  return { ...m, metadata: { name: NAME } };
}

// --- Field edits ---------------------------------------------------------------------------
function setPath(spec, path, raw) {
  const keys = path.replace(/^spec\./, "").split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "");
  const last = keys.pop();
  const parent = keys.reduce((o, k) => (o[k] ??= {}), spec);
  if (last === "name" && keys.length === 2 && keys[0] === "statefulEntities") return rename(parent, raw);
  if (keys.includes("resources")) {
    if (raw === "") delete parent[last]; else parent[last] = raw;
    const pod = keys.slice(0, -2).reduce((o, k) => o[k], spec);
    for (const section of ["requests", "limits"]) {
      if (pod.resources[section] && !Object.keys(pod.resources[section]).length) delete pod.resources[section];
    }
  } else if (last === "imagePullSecrets") {
    parent[last] = raw.split(/[\s,]+/).filter(Boolean).map((name) => ({ name }));
  } else if (last === "partitions") {
    parent[last] = raw.split(/[\s,]+/).filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  } else if (["inputPartitions", "historyLimit"].includes(last)) {
    if (raw === "") delete parent[last]; else parent[last] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
  } else {
    parent[last] = raw;
  }
}

$("#panel").addEventListener("change", (event) => {
  const el = event.target;
  if (el.dataset.path) change((spec) => setPath(spec, el.dataset.path, el.value.trim()));
  if (el.id === "connect" && el.value !== "") {
    const i = state.selected; const k = Number(el.value);
    change((spec) => connect(spec.statefulEntities[i], spec.statefulEntities[k]));
  }
});

$("#panel").addEventListener("click", (event) => {
  const el = event.target;
  const i = state.selected;
  if (el.id === "add-pod") {
    change((spec) => {
      const e = spec.statefulEntities[i];
      let n = e.pods.length;
      while (e.pods.some((p) => p.name === `${e.name}-${n}`)) n += 1;
      e.pods.push({ name: `${e.name}-${n}`, partitions: [], resources: {} });
    });
  } else if (el.classList.contains("remove-pod")) {
    change((spec) => spec.statefulEntities[i].pods.splice(Number(el.dataset.pod), 1));
  } else if (el.id === "remove-entity") {
    change((spec) => { spec.statefulEntities.splice(i, 1); state.selected = null; });
  }
});

$("#errors").addEventListener("click", (event) => {
  const k = event.target.dataset.error;
  if (k === undefined) return;
  event.preventDefault();
  const m = /statefulEntities\[(\d+)\]/.exec(state.errors[Number(k)].path || "");
  state.selected = m ? Number(m[1]) : null;
  render();
});

// --- The graph: selection, drag and drop, keyboard moves, rebalance ------------------------
const nodes = $("#nodes");
nodes.addEventListener("click", (event) => {
  if (event.target.closest(".rebalance")) return planRebalance(Number(event.target.closest(".rebalance").dataset.entity));
  const node = event.target.closest(".entity");
  if (node && Number(node.dataset.entity) !== state.selected) { state.selected = Number(node.dataset.entity); render(); }
});

// Shift-, Ctrl- or Cmd-click picks several chips of one entity, to drag them together.
nodes.addEventListener("click", (event) => {
  const chip = event.target.closest(".chip");
  if (!chip) return;
  if (!(event.shiftKey || event.ctrlKey || event.metaKey)) {
    if (state.picked.size) { state.picked.clear(); showPicked(); } // a plain click drops the picks
    return;
  }
  event.stopImmediatePropagation();
  const key = `${chip.dataset.entity}/${chip.dataset.partition}`;
  for (const other of state.picked) if (!other.startsWith(`${chip.dataset.entity}/`)) state.picked.delete(other);
  if (state.picked.has(key)) state.picked.delete(key); else state.picked.add(key);
  showPicked();
}, { capture: true });

function showPicked() {
  for (const shown of document.querySelectorAll("#nodes .chip")) {
    const picked = state.picked.has(`${shown.dataset.entity}/${shown.dataset.partition}`);
    if (picked !== shown.classList.contains("picked")) { shown.classList.toggle("picked", picked); shown.setAttribute("aria-pressed", String(picked)); }
  }
}

// Lasso: dragging a rectangle from an empty part of the canvas picks the chips inside it (those
// of the first entity it reaches, since chips only move between pods of one entity).
const canvasEl = $("#canvas");
let lasso = null;
const lassoRect = (event) => ({
  left: Math.min(lasso.x, event.clientX), top: Math.min(lasso.y, event.clientY),
  right: Math.max(lasso.x, event.clientX), bottom: Math.max(lasso.y, event.clientY),
});
canvasEl.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 || !CAN_CHANGE || event.target.closest(".entity")) return;
  event.preventDefault(); // no text selection: a chip pressed inside one would drag the text
  lasso = { x: event.clientX, y: event.clientY, el: document.createElement("div") };
  lasso.el.className = "lasso";
  canvasEl.append(lasso.el);
});
window.addEventListener("pointermove", (event) => {
  if (!lasso) return;
  const r = lassoRect(event); const origin = canvasEl.getBoundingClientRect();
  Object.assign(lasso.el.style, {
    left: `${r.left - origin.left + canvasEl.scrollLeft}px`, top: `${r.top - origin.top + canvasEl.scrollTop}px`,
    width: `${r.right - r.left}px`, height: `${r.bottom - r.top}px`,
  });
});
window.addEventListener("pointerup", (event) => {
  if (!lasso) return;
  const r = lassoRect(event);
  lasso.el.remove(); lasso = null;
  getSelection()?.removeAllRanges();
  if (r.right - r.left < 4 && r.bottom - r.top < 4) return; // a click, not a lasso
  const inside = [...document.querySelectorAll("#nodes .chip")].filter((chip) => {
    const c = chip.getBoundingClientRect();
    return c.left < r.right && c.right > r.left && c.top < r.bottom && c.bottom > r.top;
  });
  const e = inside[0]?.dataset.entity;
  state.picked = new Set(inside.filter((c) => c.dataset.entity === e).map((c) => `${e}/${c.dataset.partition}`));
  showPicked();
});

/** The chips a drag of `chip` carries: all the picked chips of its entity when it is one of them. */
function dragged(chip) {
  const e = chip.dataset.entity;
  if (!state.picked.has(`${e}/${chip.dataset.partition}`)) return [{ pod: chip.dataset.pod, partition: chip.dataset.partition }];
  return [...document.querySelectorAll(`#nodes .chip.picked[data-entity="${e}"]`)]
    .map((c) => ({ pod: c.dataset.pod, partition: c.dataset.partition }));
}

nodes.addEventListener("dragstart", (event) => {
  const chip = event.target.closest(".chip");
  if (!chip || !CAN_CHANGE) return event.preventDefault();
  const payload = { entity: chip.dataset.entity, chips: dragged(chip) };
  event.dataTransfer.setData("application/x-invoker-partition", JSON.stringify(payload));
  event.dataTransfer.effectAllowed = "move";
  nodes.dataset.dragEntity = chip.dataset.entity;
});
nodes.addEventListener("dragend", () => { delete nodes.dataset.dragEntity; });
nodes.addEventListener("dragover", (event) => {
  const pod = event.target.closest(".pod, .pool");
  if (pod && pod.dataset.entity === nodes.dataset.dragEntity) { event.preventDefault(); event.dataTransfer.dropEffect = "move"; }
});
nodes.addEventListener("drop", (event) => {
  const pod = event.target.closest(".pod, .pool");
  const raw = event.dataTransfer.getData("application/x-invoker-partition");
  if (!pod || !raw) return;
  event.preventDefault();
  const drag = JSON.parse(raw);
  if (drag.entity !== pod.dataset.entity) return;
  movePartitions(Number(drag.entity), drag.chips, Number(pod.dataset.pod));
});

// Enter or Space on a focused entity opens its panel, with the focus on its first field.
nodes.addEventListener("keydown", (event) => {
  if (!event.target.matches(".entity") || !["Enter", " "].includes(event.key)) return;
  event.preventDefault();
  state.selected = Number(event.target.dataset.entity);
  render();
  $("#panel [data-path]")?.focus();
});

// Escape in the panel goes back to the selected entity on the graph.
$("#panel").addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || state.selected === null) return;
  document.querySelector(`#nodes .entity[data-entity="${state.selected}"]`)?.focus();
});

/** Says `text` to screen readers at once (an assertive live region). */
function announce(text) {
  const region = $("#announce");
  region.textContent = "";
  requestAnimationFrame(() => { region.textContent = text; }); // a repeated text is announced again
}

nodes.addEventListener("keydown", (event) => {
  const chip = event.target.closest(".chip");
  if (!chip || !["ArrowUp", "ArrowDown"].includes(event.key) || !CAN_CHANGE) return;
  event.preventDefault();
  const e = Number(chip.dataset.entity); const pods = entities()[e].pods;
  // Positions 0..n-1 are the pods; n is the unassigned pool, below them, when it is shown.
  const last = Number.isInteger(entities()[e].inputPartitions) ? pods.length : pods.length - 1;
  const from = Number(chip.dataset.pod) === POOL ? pods.length : Number(chip.dataset.pod);
  const to = from + (event.key === "ArrowDown" ? 1 : -1);
  const name = (k) => (k === pods.length ? "the unassigned pool" : pods[k].name);
  if (to < 0 || to > last) {
    const end = to < 0 ? "first" : "last";
    return announce(`Partition ${chip.dataset.partition} is already in the ${end} pod, ${name(from)}.`);
  }
  const toPod = to === pods.length ? POOL : to;
  movePartitions(e, [{ pod: chip.dataset.pod, partition: chip.dataset.partition }], toPod);
  announce(`Partition ${chip.dataset.partition} moved to ${name(to)}.`);
  document.querySelector(`.chip[data-entity="${e}"][data-pod="${toPod}"][data-partition="${CSS.escape(chip.dataset.partition)}"]`)?.focus();
});

// By measured load first (rebalance.js); even by count when nothing was measured, or on request.
async function planRebalance(i) {
  const entity = entities()[i].name;
  const url = `${URL_}entities/${entity}/rebalance/load/`;
  const byLoad = { entity, url, version: () => Number(state.version), reload: load, evenByCount: () => planEven(i), message };
  if (!(await planByLoad(byLoad))) await planEven(i);
}

async function planEven(i) {
  const entity = entities()[i].name;
  const url = `${URL_}entities/${entity}/rebalance/`;
  try {
    const { data } = await api("POST", url, { dry_run: true });
    $("#plan-entity").textContent = entity;
    $("#plan-summary").textContent = data.moves.length
      ? `${data.moves.length} partition(s) move; nothing is changed until you apply.` : "Already balanced: nothing to move.";
    $("#plan-moves").innerHTML = data.moves.map((m) => `<tr><td>${m.partition}</td><td>${escapeHtml(m.from_pod)}</td><td>${escapeHtml(m.to_pod)}</td></tr>`).join("");
    $("#plan-apply").disabled = !data.moves.length;
    const dialog = $("#plan-dialog");
    dialog.onclose = async () => {
      if (dialog.returnValue !== "apply") return;
      try {
        const { data: done } = await api("POST", url, { dry_run: false, resource_version: Number(state.version) });
        await load();
        message(`Rebalanced ${entity}: revision ${done.revision}; reconcile requested.`, "ok");
      } catch (error) { message(`Rebalance refused: ${error.message}`, "error"); }
    };
    dialog.showModal();
  } catch (error) { message(`Rebalance refused: ${error.message}`, "error"); }
}

// --- Toolbar, YAML, keyboard shortcuts, leaving the page -----------------------------------
$("#add-entity").addEventListener("click", addEntity);
$("#undo").addEventListener("click", () => step(state.undo, state.redo));
$("#redo").addEventListener("click", () => step(state.redo, state.undo));
$("#save").addEventListener("click", save);

function showTab(yaml) {
  if (!yaml && yamlEdited() && !confirm("Discard the edits typed in the YAML box? They have not been imported.")) return;
  if (yaml && $("#yaml-view").hidden) showYaml();
  $("#yaml-view").hidden = !yaml;
  $("#graph-view").hidden = yaml;
  $("#tab-yaml").setAttribute("aria-pressed", String(yaml));
  $("#tab-graph").setAttribute("aria-pressed", String(!yaml));
  render();
}
$("#tab-graph").addEventListener("click", () => showTab(false));
$("#tab-yaml").addEventListener("click", () => showTab(true));
$("#yaml-apply").addEventListener("click", async () => {
  try {
    await api("POST", "/api/deployments/import/", $("#yaml").value, { contentType: "application/yaml", ifMatch: `"${state.version}"` });
    await load();
    showYaml(); // the imported spec, as the server now has it
    message("YAML imported and saved; reconcile requested.", "ok");
  } catch (error) {
    state.errors = error.fields.length ? error.fields : [{ path: "", message: error.message }];
    showFieldErrors();
    message(`Import refused: ${error.message}`, "error");
  }
});

document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey)) return;
  const key = event.key.toLowerCase();
  if (key === "s") return saveShortcut(event);
  if (event.target.matches("input, textarea")) return;
  if (key === "z" && !event.shiftKey) { event.preventDefault(); step(state.undo, state.redo); }
  else if ((key === "z" && event.shiftKey) || key === "y") { event.preventDefault(); step(state.redo, state.undo); }
});

// Ctrl-S saves (a field being typed in is taken first); never the browser's "save page".
function saveShortcut(event) {
  event.preventDefault();
  if (event.target.matches("#panel input")) event.target.blur(); // fires its "change"
  if (!$("#yaml-view").hidden) return message("Ctrl-S saves the graph's edits; use Import YAML for the YAML box.");
  if (!CAN_CHANGE) return message("Your role cannot change this deployment.", "error");
  if (!dirty()) return message("Nothing to save.");
  save();
}

window.addEventListener("beforeunload", (event) => {
  if (state.spec && (dirty() || yamlEdited())) { event.preventDefault(); event.returnValue = ""; }
});
window.addEventListener("resize", () => state.spec && drawEdges(layers().edges));

connectMetrics(NAME, {
  onPayload: (payload) => {
    renderStatus($("#status"), payload.status || {});
    for (const pod of payload.pods || []) {
      state.phases[pod.name] = pod.phase;
      const li = document.querySelector(`.pod[data-name="${CSS.escape(pod.name)}"]`);
      if (li) li.dataset.phase = pod.phase;
    }
  },
  onState: (s) => showConnection($("#conn"), s),
});

load()
  .then(() => loadStatus(NAME, $("#status")))
  .catch((error) => message(`Could not load ${NAME}: ${error.message}`, "error"));
