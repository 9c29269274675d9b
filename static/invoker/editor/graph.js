// The graph on the canvas: one node per entity, placed where the user put it (the
// `invoker.io/layout` annotation) or by auto-layout in columns (geometry.js), its ports, pods and
// partition chips, and the SVG edges between nodes. A render redraws only the nodes that changed.
import { escapeHtml } from "../common.js";
import { autoLayout, bounds, estimatedHeight, placed } from "./geometry.js";
import { edgeRateSvg, lagBadgeHtml, paintLagBadges, setRates } from "./edge-rates.js";
import { edgeCurve, invalidEntities, layers, overlaps } from "./layout.js";
import { $, CAN_CHANGE, CAN_REBALANCE, NAME, entities, state, view } from "./page.js";
import { POOL, unassigned } from "./spec.js";

/** Above this many pods a full redraw defers the pods of the nodes out of view (fillPending). */
const EAGER_PODS = 400;
/** Pixels a deferred node's pod list takes per pod until it is filled (a pod row and its gap). */
const POD_ROW_PX = 30;

/** The zoom, the world's size and each node's box `{x, y, w, h}` by entity index as last drawn. */
export const camera = { zoom: 1, world: { w: 0, h: 0 }, boxes: [], sized: "", onDraw: () => {} };

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

/** Where each node goes before it is drawn: the user's position or auto-layout's by estimate. */
function firstPositions() {
  const es = entities();
  return placed(es, state.layout || {}, autoLayout(es, layers(es).depth, es.map(estimatedHeight)));
}

function entityHtml(e, i, owners, invalid, withPods = true) {
  const classes = ["entity", i === state.selected ? "selected" : "", invalid.has(i) ? "invalid" : ""].join(" ");
  const rebalance = `<button class="rebalance" data-entity="${i}" ${CAN_REBALANCE ? "" : "disabled"}
    title="${CAN_REBALANCE ? "Plan and apply an even split" : "Operators may rebalance"}">Rebalance</button>`;
  return `<div class="${classes}" data-entity="${i}" data-name="${escapeHtml(e.name)}" tabindex="0" role="group"
    aria-label="entity ${escapeHtml(e.name)}; Enter opens its panel">
    <span class="port in" data-entity="${i}" title="input topic ${escapeHtml(e.inputTopic)}: drop a wire here"></span>
    <span class="port out" data-entity="${i}" title="output topic ${escapeHtml(e.outputTopic)}: drag a wire to another entity"></span>
    <header><b>${escapeHtml(e.name)}</b>${rebalance}</header>
    <div class="topics"><span class="topic-in">${escapeHtml(e.inputTopic)}</span> → <span class="topic-out">${escapeHtml(e.outputTopic)}</span>${lagBadgeHtml(e.name)}</div>
    <ul class="pods">${withPods ? podsHtml(e, i, owners) : ""}</ul></div>`;
}

function place(node, [x, y]) {
  if (node.style.left !== `${x}px`) node.style.left = `${x}px`;
  if (node.style.top !== `${y}px`) node.style.top = `${y}px`;
}

const nodeOf = (i) => document.querySelector(`#nodes .entity[data-entity="${i}"]`);

/** Redraws only the nodes whose entity, selection or validity changed; every node is redrawn
 * only when entities are added or removed. Positions follow in drawEdges. */
export function renderGraph() {
  const { edges } = layers(entities());
  const invalid = invalidEntities(state.errors);
  const keys = entities().map((e, i) => `${view.epoch}|${invalid.has(i)}|${JSON.stringify(e)}`);
  const layout = String(entities().length);
  if (layout !== view.layout) {
    // A big graph is drawn in two passes: every node without its pods, then the pods of the
    // nodes in view at once and of the others in slices after the first paint (at 100 x 20 the
    // 11,000 elements took 200-350 ms to parse and lay out, and most are off-screen).
    const deferred = entities().reduce((n, e) => n + e.pods.length, 0) > EAGER_PODS;
    $("#nodes").innerHTML = entities().map((e, i) => entityHtml(e, i, view.owners, invalid, !deferred)).join("")
      || `<p class="muted empty">No entities yet. ${CAN_CHANGE ? "Add one to start drawing." : ""}</p>`;
    const at = firstPositions(); // set through the CSSOM: the page's CSP refuses style attributes
    for (const n of document.querySelectorAll("#nodes .entity")) place(n, at[n.dataset.entity]);
    view.pending = new Set(deferred ? entities().keys() : []);
    if (deferred) fillInView();
  } else {
    keys.forEach((key, i) => {
      if (key === view.keys[i]) return;
      nodeOf(i).outerHTML = entityHtml(entities()[i], i, view.owners, invalid);
      if (camera.boxes[i]) place(nodeOf(i), [camera.boxes[i].x, camera.boxes[i].y]);
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
  const margin = 200; const z = camera.zoom;
  const shownRect = {
    left: canvas.scrollLeft / z - margin, right: (canvas.scrollLeft + canvas.clientWidth) / z + margin,
    top: canvas.scrollTop / z - margin, bottom: (canvas.scrollTop + canvas.clientHeight) / z + margin,
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

/** Places every node (the user's position, else auto-layout by the drawn heights) and draws the
 * SVG edges between them, by entity index (not DOM order). One read of the nodes' sizes, then
 * writes only: moving an absolutely placed node changes no size. */
export function drawEdges(edges) {
  const es = entities();
  const size = [];
  for (const n of document.querySelectorAll("#nodes .entity")) size[n.dataset.entity] = [n.offsetWidth, n.offsetHeight];
  const heights = es.map((e, i) => size[i]?.[1] ?? estimatedHeight(e));
  const at = placed(es, state.layout || {}, autoLayout(es, layers(es).depth, heights));
  camera.boxes = es.map((e, i) => ({ x: at[i][0], y: at[i][1], w: size[i]?.[0] ?? 240, h: heights[i] }));
  for (const n of document.querySelectorAll("#nodes .entity")) {
    const b = camera.boxes[n.dataset.entity];
    if (b) place(n, [b.x, b.y]);
  }
  sizeWorld(bounds(camera.boxes));
  const top = (b) => ({ ...b, h: Math.min(b.h, 60) }); // edges meet the ports, near the top
  const html = edges.map(([i, j, topic]) => {
    const curve = edgeCurve(top(camera.boxes[i]), top(camera.boxes[j]));
    return `<g class="edge" data-from="${i}" data-to="${j}"><path d="${curve.d}"/>
      ${topicLinkSvg(topic, curve.x, curve.y - 4)}${edgeRateSvg(entities()[i]?.name, entities()[j]?.name, curve.x, curve.y + 12)}</g>`;
  }).join("");
  const svg = $("#edges");
  if (html !== view.edges) {
    const wire = svg.querySelector(".wire"); // a wire being drawn stays
    svg.innerHTML = html;
    if (wire) svg.append(wire);
  }
  view.edges = html;
  camera.onDraw();
}

/** An edge's topic name, a link to its records on the topics page (which opens the peek at it,
 * or marks its row for those who may not peek). */
function topicLinkSvg(topic, x, y) {
  const href = `/deployments/${encodeURIComponent(NAME)}/topics/?peek=${encodeURIComponent(topic)}`;
  return `<a class="edge-topic" href="${escapeHtml(href)}"><title>records of ${escapeHtml(topic)}</title>`
    + `<text x="${x}" y="${y}">${escapeHtml(topic)}</text></a>`;
}

/** Sizes the world (nodes and edges, scaled by the zoom) and the scroll area around it. */
export function sizeWorld(world = camera.world) {
  camera.world = world;
  // Only what changed is written: any write would have the next read lay out every node again.
  const key = `${world.w}x${world.h}@${camera.zoom}`;
  if (key === camera.sized) return;
  camera.sized = key;
  const svg = $("#edges");
  svg.setAttribute("width", world.w);
  svg.setAttribute("height", world.h);
  const sized = $("#world").style;
  sized.width = `${world.w}px`; sized.height = `${world.h}px`;
  sized.transform = camera.zoom === 1 ? "" : `scale(${camera.zoom})`;
  const sizer = $("#sizer").style;
  sizer.width = `${Math.ceil(world.w * camera.zoom)}px`;
  sizer.height = `${Math.ceil(world.h * camera.zoom)}px`;
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
