// Drawing on the canvas (issue 14, item 1): wires dragged from an entity's output port to another
// entity (the panel's "Connect output to" stays the keyboard path), nodes moved by dragging their
// header (positions kept in the `invoker.io/layout` annotation, saved with the deployment),
// auto-layout, pan (wheel, scrollbars, middle- or Space-drag), zoom (Ctrl-wheel, buttons), fit,
// a minimap for a graph larger than the view, and finding an entity by name. Handlers are
// delegated from the canvas and the window: none per node.
import { change, render } from "./core.js";
import { clampZoom, findEntity, fitZoom, hitNode, minimapScale, wirePath, zoomScroll } from "./geometry.js";
import { camera, drawEdges, sizeWorld } from "./graph.js";
import { layers } from "./layout.js";
import { $, CAN_CHANGE, entities, message, state } from "./page.js";
import { connect } from "./spec.js";

const canvas = $("#canvas");
const nodes = $("#nodes");
const redraw = () => drawEdges(layers(entities()).edges);

/** The world point (unscaled, from the world's origin) under a pointer event. */
function worldPoint(event) {
  const r = $("#world").getBoundingClientRect();
  return { x: (event.clientX - r.left) / camera.zoom, y: (event.clientY - r.top) / camera.zoom };
}

/** The entity node under a pointer event (hit-tested on the drawn boxes), but `except`'s. */
function nodeUnder(event, except) {
  const i = hitNode(camera.boxes, worldPoint(event));
  return i === -1 || i === except ? null : document.querySelector(`#nodes .entity[data-entity="${i}"]`);
}

// A wire: pressing an output port and releasing over another entity makes that entity read the
// topic this one writes (one undoable edit, as the panel's dropdown does).
let wire = null;
nodes.addEventListener("pointerdown", (event) => {
  const port = event.target.closest(".port.out");
  if (!port || event.button !== 0) return;
  event.preventDefault(); event.stopPropagation();
  if (!CAN_CHANGE) return message("Your role cannot change this deployment.", "error");
  const b = camera.boxes[port.dataset.entity];
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("class", "wire");
  $("#edges").append(path);
  wire = { from: Number(port.dataset.entity), start: { x: b.x + b.w, y: b.y + 30 }, path, target: null };
});

function markTarget(node) {
  if (wire.target === node) return;
  wire.target?.classList.remove("wire-target");
  wire.target = node;
  node?.classList.add("wire-target");
}

window.addEventListener("pointermove", (event) => {
  if (!wire) return;
  wire.path.setAttribute("d", wirePath(wire.start, worldPoint(event)));
  markTarget(nodeUnder(event, wire.from));
});

window.addEventListener("pointerup", () => {
  if (!wire) return;
  const { from, path, target } = wire;
  markTarget(null);
  path.remove(); wire = null;
  if (!target) return;
  const to = Number(target.dataset.entity);
  const [source, reader] = [entities()[from], entities()[to]];
  change((spec) => connect(spec.statefulEntities[from], spec.statefulEntities[to]));
  message(`${reader.name} now reads ${source.outputTopic} from ${source.name} (unsaved).`);
});

// Moving a node: its header dragged. The first move fixes every node where it is, so that
// auto-layout no longer moves the others; the positions are saved with the deployment.
let moving = null;
nodes.addEventListener("pointerdown", (event) => {
  const header = event.target.closest(".entity header");
  if (!header || event.button !== 0 || event.target.closest("button") || !CAN_CHANGE) return;
  const node = header.parentElement; const b = camera.boxes[node.dataset.entity];
  moving = { node, i: Number(node.dataset.entity), x: event.clientX, y: event.clientY, from: [b.x, b.y], moved: false };
});

window.addEventListener("pointermove", (event) => {
  if (!moving) return;
  const dx = (event.clientX - moving.x) / camera.zoom; const dy = (event.clientY - moving.y) / camera.zoom;
  if (!moving.moved && Math.hypot(dx, dy) < 4) return; // a click, not a move yet
  if (!moving.moved) {
    moving.moved = true;
    moving.node.classList.add("moving");
    state.layout = Object.fromEntries(entities().map((e, i) => [e.name, [camera.boxes[i].x, camera.boxes[i].y]]));
  }
  const at = [Math.max(0, Math.round(moving.from[0] + dx)), Math.max(0, Math.round(moving.from[1] + dy))];
  state.layout[entities()[moving.i].name] = at;
  if (!moving.frame) moving.frame = requestAnimationFrame(() => { if (moving) moving.frame = 0; redraw(); });
});

window.addEventListener("pointerup", () => {
  if (!moving) return;
  const { node, moved, frame, i } = moving;
  moving = null;
  if (!moved) return;
  cancelAnimationFrame(frame);
  node.classList.remove("moving");
  // The click that ends the drag selects the node, as a click on it would.
  render();
  message(`${entities()[i].name} moved (unsaved).`);
});

$("#auto-layout").addEventListener("click", () => {
  if (!CAN_CHANGE) return message("Your role cannot change this deployment.", "error");
  state.layout = {}; // every node placed by auto-layout again (saved: the annotation goes)
  render();
  message("Nodes laid out in columns by their connections (unsaved).");
});

// Zoom: the world is scaled; the point under the pointer (or the view's centre) stays put.
function zoomTo(z, anchor = { x: canvas.clientWidth / 2, y: canvas.clientHeight / 2 }) {
  const to = clampZoom(z);
  const scroll = zoomScroll({ x: canvas.scrollLeft, y: canvas.scrollTop }, anchor, camera.zoom, to);
  camera.zoom = to;
  sizeWorld();
  canvas.scrollLeft = scroll.x; canvas.scrollTop = scroll.y;
  $("#zoom-level").textContent = `${Math.round(to * 100)}%`;
  $("#canvas").dataset.zoom = String(to);
  drawMinimap();
}

canvas.addEventListener("wheel", (event) => {
  if (!(event.ctrlKey || event.metaKey)) return; // a plain wheel scrolls: that pans
  event.preventDefault();
  const r = canvas.getBoundingClientRect();
  zoomTo(camera.zoom * Math.exp(-event.deltaY / 500), { x: event.clientX - r.left, y: event.clientY - r.top });
}, { passive: false });
$("#zoom-in").addEventListener("click", () => zoomTo(camera.zoom * 1.25));
$("#zoom-out").addEventListener("click", () => zoomTo(camera.zoom / 1.25));
$("#fit").addEventListener("click", () => {
  zoomTo(fitZoom(camera.world, { w: canvas.clientWidth, h: canvas.clientHeight }));
  canvas.scrollLeft = 0; canvas.scrollTop = 0;
  drawMinimap();
});

// Pan: the middle button, or the left one with Space held, drags the view (before the lasso).
let space = false;
let pan = null;
window.addEventListener("keydown", (event) => { if (event.key === " " && !event.target.matches("input, textarea, select, button, .entity, .chip")) { space = true; event.preventDefault(); } });
window.addEventListener("keyup", (event) => { if (event.key === " ") space = false; });
canvas.addEventListener("pointerdown", (event) => {
  if (!(event.button === 1 || (event.button === 0 && space))) return;
  event.preventDefault(); event.stopPropagation();
  pan = { x: event.clientX, y: event.clientY, left: canvas.scrollLeft, top: canvas.scrollTop };
  canvas.classList.add("panning");
}, { capture: true });
window.addEventListener("pointermove", (event) => {
  if (!pan) return;
  canvas.scrollLeft = pan.left - (event.clientX - pan.x);
  canvas.scrollTop = pan.top - (event.clientY - pan.y);
});
window.addEventListener("pointerup", () => { if (pan) { pan = null; canvas.classList.remove("panning"); } });
canvas.addEventListener("auxclick", (event) => { if (event.button === 1) event.preventDefault(); });

// The minimap: every node as a rectangle and the part in view; shown only when the graph is
// larger than the view. A click (or drag) on it centres the view there.
const MAP = { w: 180, h: 120 };
const minimap = $("#minimap");
let mapFrame = 0;
let shownMap = "";
export function drawMinimap() {
  const world = camera.world; const z = camera.zoom;
  const larger = world.w * z > canvas.clientWidth + 1 || world.h * z > canvas.clientHeight + 1;
  minimap.toggleAttribute("hidden", !larger); // an SVG element has no `hidden` property
  if (!larger) return;
  const s = minimapScale(world, MAP);
  const rects = camera.boxes.map((b, i) => `<rect class="node${i === state.selected ? " selected" : ""}" data-entity="${i}"
    x="${(b.x * s).toFixed(1)}" y="${(b.y * s).toFixed(1)}" width="${Math.max(1, b.w * s).toFixed(1)}" height="${Math.max(1, b.h * s).toFixed(1)}"/>`).join("");
  const v = { x: canvas.scrollLeft / z, y: canvas.scrollTop / z, w: canvas.clientWidth / z, h: canvas.clientHeight / z };
  const html = `${rects}<rect class="viewport" x="${(v.x * s).toFixed(1)}" y="${(v.y * s).toFixed(1)}"
    width="${(v.w * s).toFixed(1)}" height="${(v.h * s).toFixed(1)}"/>`;
  if (html === shownMap) return; // unchanged: no write
  shownMap = html;
  minimap.setAttribute("viewBox", `0 0 ${MAP.w} ${MAP.h}`);
  minimap.innerHTML = html;
}
camera.onDraw = () => { if (!mapFrame) mapFrame = requestAnimationFrame(() => { mapFrame = 0; drawMinimap(); }); };
canvas.addEventListener("scroll", camera.onDraw, { passive: true });
window.addEventListener("resize", camera.onDraw);

function centreOn(x, y) {
  canvas.scrollLeft = x * camera.zoom - canvas.clientWidth / 2;
  canvas.scrollTop = y * camera.zoom - canvas.clientHeight / 2;
}
let mapDrag = false;
function mapGo(event) {
  const r = minimap.getBoundingClientRect(); const s = minimapScale(camera.world, MAP) * (r.width / MAP.w);
  centreOn((event.clientX - r.left) / s, (event.clientY - r.top) / s);
}
minimap.addEventListener("pointerdown", (event) => { mapDrag = true; mapGo(event); event.preventDefault(); });
window.addEventListener("pointermove", (event) => { if (mapDrag) mapGo(event); });
window.addEventListener("pointerup", () => { mapDrag = false; });

// Find: Enter in the search box centres the entity it names best, highlights and focuses it.
const find = $("#find-entity");
find.addEventListener("focus", () => {
  $("#entity-names").innerHTML = entities().map((e) => `<option value="${e.name.replace(/"/g, "&quot;")}">`).join("");
});
find.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const i = findEntity(entities(), find.value);
  for (const shown of document.querySelectorAll("#nodes .entity.found")) shown.classList.remove("found");
  if (i === -1) return message(`No entity is called "${find.value.trim()}".`, "error");
  const b = camera.boxes[i];
  centreOn(b.x + b.w / 2, b.y + Math.min(b.h, canvas.clientHeight / camera.zoom) / 2);
  const node = document.querySelector(`#nodes .entity[data-entity="${i}"]`);
  node.classList.add("found");
  node.focus({ preventScroll: true });
  message(`Found ${entities()[i].name}: Enter opens its panel.`);
});
nodes.addEventListener("focusout", (event) => event.target.classList?.remove("found"));
