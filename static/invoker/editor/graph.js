// The graph on the canvas: one node per entity in columns (layout.js), its pods and partition
// chips, and the SVG edges between nodes. A render redraws only the nodes that changed.
import { escapeHtml } from "../common.js";
import { edgeRateSvg, lagBadgeHtml, paintLagBadges, setRates } from "./edge-rates.js";
import { edgeCurve, invalidEntities, layers, overlaps } from "./layout.js";
import { $, CAN_CHANGE, CAN_REBALANCE, entities, state, view } from "./page.js";
import { POOL, unassigned } from "./spec.js";

/** Above this many pods a full redraw defers the pods of the nodes out of view (fillPending). */
const EAGER_PODS = 400;
/** Pixels a deferred node's pod list takes per pod until it is filled (a pod row and its gap). */
const POD_ROW_PX = 30;

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

/** Entity `e`'s pod rows with their chips, and its unassigned pool. */
function podsHtml(e, i, owners) {
  const pods = e.pods.map((pod, j) => {
    const chips = pod.partitions.map((p) => {
      const moved = owners[`${e.name}/${p}`] !== undefined && owners[`${e.name}/${p}`] !== pod.name;
      return chipHtml(i, j, p, pod.name, moved);
    }).join("");
    return `<li class="pod" data-entity="${i}" data-pod="${j}" data-name="${escapeHtml(pod.name)}" data-phase="${escapeHtml(state.phases[pod.name] || "")}">
      <span class="podname">${escapeHtml(pod.name)}</span><span class="chips">${chips}</span></li>`;
  }).join("");
  return pods + poolHtml(e, i);
}

function entityHtml(e, i, owners, invalid, withPods = true) {
  const classes = ["entity", i === state.selected ? "selected" : "", invalid.has(i) ? "invalid" : ""].join(" ");
  const rebalance = `<button class="rebalance" data-entity="${i}" ${CAN_REBALANCE ? "" : "disabled"}
    title="${CAN_REBALANCE ? "Plan and apply an even split" : "Operators may rebalance"}">Rebalance</button>`;
  return `<div class="${classes}" data-entity="${i}" data-name="${escapeHtml(e.name)}" tabindex="0" role="group"
    aria-label="entity ${escapeHtml(e.name)}; Enter opens its panel">
    <header><b>${escapeHtml(e.name)}</b>${rebalance}</header>
    <div class="topics"><span>${escapeHtml(e.inputTopic)}</span> → <span>${escapeHtml(e.outputTopic)}</span>${lagBadgeHtml(e.name)}</div>
    <ul class="pods">${withPods ? podsHtml(e, i, owners) : ""}</ul></div>`;
}

const nodeOf = (i) => document.querySelector(`#nodes .entity[data-entity="${i}"]`);

/** Redraws only the nodes whose entity, selection or validity changed; the columns are rebuilt
 * only when the layers change (an entity added, removed or connected differently). */
export function renderGraph() {
  const { edges, depth } = layers(entities());
  const invalid = invalidEntities(state.errors);
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
      nodeOf(i).outerHTML = entityHtml(entities()[i], i, view.owners, invalid);
      view.pending.delete(i);
    });
    // Selection only moves a class: no node is redrawn for it.
    for (const node of document.querySelectorAll("#nodes .entity.selected")) {
      if (Number(node.dataset.entity) !== state.selected) node.classList.remove("selected");
    }
    nodeOf(state.selected)?.classList.add("selected");
  }
  view.keys = keys;
  view.layout = layout;
  drawEdges(edges);
  if (view.pending.size && !view.filling) view.filling = setTimeout(fillPending);
}

/** Draws the pods of pending node `i` into it (its entity as it is now: an edit redraws a node
 * whole); the node itself stays, with its focus, selection and health. */
function fill(i) {
  view.pending.delete(i);
  const list = nodeOf(i)?.querySelector(".pods");
  if (!list) return;
  list.innerHTML = podsHtml(entities()[i], i, view.owners);
  list.style.minHeight = "";
}

/** Fills the pending nodes the canvas shows (with a margin), reading the nodes' boxes once. */
function fillInView() {
  const canvas = $("#canvas");
  for (const list of document.querySelectorAll("#nodes .entity .pods")) {
    list.style.minHeight = `${entities()[list.parentElement.dataset.entity].pods.length * POD_ROW_PX}px`;
  }
  const margin = 200;
  const shownRect = {
    left: canvas.scrollLeft - margin, right: canvas.scrollLeft + canvas.clientWidth + margin,
    top: canvas.scrollTop - margin, bottom: canvas.scrollTop + canvas.clientHeight + margin,
  };
  const shown = [...document.querySelectorAll("#nodes .entity")]
    .filter((n) => overlaps({ x: n.offsetLeft, y: n.offsetTop, w: n.offsetWidth, h: n.offsetHeight }, shownRect));
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
  drawEdges(layers(entities()).edges); // the filled nodes may be taller or shorter than their estimate
  for (const resolve of view.drawn.splice(0)) resolve();
}

/** Resolves once every node has its pods (at once for a graph drawn in one pass). */
export function allDrawn() {
  return view.pending.size ? new Promise((resolve) => view.drawn.push(resolve)) : Promise.resolve();
}

/** The SVG edges, from the nodes' boxes by entity index (not DOM order: columns reorder them). */
export function drawEdges(edges) {
  const svg = $("#edges");
  const canvas = $("#canvas");
  const box = {};
  for (const n of document.querySelectorAll("#nodes .entity")) {
    box[n.dataset.entity] = { x: n.offsetLeft, y: n.offsetTop, w: n.offsetWidth, h: Math.min(n.offsetHeight, 60) };
  }
  svg.setAttribute("width", canvas.scrollWidth);
  svg.setAttribute("height", canvas.scrollHeight);
  const html = edges.map(([i, j, topic]) => {
    const curve = edgeCurve(box[i], box[j]);
    return `<g class="edge" data-from="${i}" data-to="${j}"><path d="${curve.d}"/>
      <text x="${curve.x}" y="${curve.y - 4}">${escapeHtml(topic)}</text>${edgeRateSvg(entities()[i]?.name, entities()[j]?.name, curve.x, curve.y + 12)}</g>`;
  }).join("");
  if (html !== view.edges) svg.innerHTML = html;
  view.edges = html;
}

/** Records/s on the edges and each entity's lag badge, from a metrics message (edge-rates.js):
 * redraws the edges once the nodes are drawn and only when a label changes. */
export function showEdgeRates(pods, lag) {
  if (setRates(pods) && document.querySelector("#nodes .entity")) drawEdges(layers(entities()).edges);
  paintLagBadges(document, lag);
}

/** Marks the picked chips (state.picked) without redrawing any node. */
export function showPicked() {
  for (const shown of document.querySelectorAll("#nodes .chip")) {
    const picked = state.picked.has(`${shown.dataset.entity}/${shown.dataset.partition}`);
    if (picked !== shown.classList.contains("picked")) { shown.classList.toggle("picked", picked); shown.setAttribute("aria-pressed", String(picked)); }
  }
}
