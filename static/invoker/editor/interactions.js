// The graph's interactions: selecting an entity (click, Enter or Space), picking chips
// (shift/ctrl-click or a lasso), dragging chips between pods, moving a focused chip with the
// arrow keys (announced), and the page's keyboard shortcuts (Ctrl-Z, Ctrl-Shift-Z or Ctrl-Y,
// Ctrl-S). Every handler is delegated from the canvas or the document: none per chip or node.
import { dirty, movePartitions, render, save, step } from "./core.js";
import { drawEdges, showPicked } from "./graph.js";
import { layers } from "./layout.js";
import { $, CAN_CHANGE, entities, message, state } from "./page.js";
import { planRebalance } from "./rebalance-dialog.js";
import { POOL } from "./spec.js";
import { redo, undo } from "./store.js";
import { yamlEdited } from "./yaml-tab.js";

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

// Lasso: dragging a rectangle from an empty part of the canvas picks the chips inside it (those
// of the first entity it reaches, since chips only move between pods of one entity).
const canvasEl = $("#canvas");
let lasso = null;
const lassoRect = (event) => ({
  left: Math.min(lasso.x, event.clientX), top: Math.min(lasso.y, event.clientY),
  right: Math.max(lasso.x, event.clientX), bottom: Math.max(lasso.y, event.clientY),
});
canvasEl.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 || !CAN_CHANGE || event.target.closest(".entity, .edge-topic")) return;
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

document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey)) return;
  const key = event.key.toLowerCase();
  if (key === "s") return saveShortcut(event);
  if (event.target.matches("input, textarea")) return;
  if (key === "z" && !event.shiftKey) { event.preventDefault(); step(undo); }
  else if ((key === "z" && event.shiftKey) || key === "y") { event.preventDefault(); step(redo); }
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
window.addEventListener("resize", () => state.spec && drawEdges(layers(entities()).edges));
