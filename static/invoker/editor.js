// The topology editor: entities are nodes, topics are edges (one entity's output topic is
// another's input topic); partitions are chips dragged between pods. Every edit is local
// until Save; undo/redo walk local snapshots. This entry wires the page; the parts are ES
// modules in editor/ (no build step), by concern:
//   store.js     the state, undo and redo, what Save sends (pure: tests/js)
//   spec.js      edits of the spec (pure: tests/js)
//   layout.js    columns, edges and their geometry (pure: tests/js)
//   geometry.js  node positions, auto-layout, zoom, fit, hit-testing, find (pure: tests/js)
//   drawing.js   wires, moving nodes, auto-layout, pan, zoom, fit, minimap, find
//   page.js      the page's deployment, rights, state and what is on screen
//   core.js      loading, saving, edits and the render after each
//   graph.js     the nodes, chips and SVG edges, drawn incrementally
//   panel.js     the side panel and the server's field errors
//   interactions.js  selection, picking, drag and drop, keyboard
//   rebalance-dialog.js  the even-by-count rebalance dialog
//   yaml-tab.js  the YAML tab and its import
//   presence.js  who else has it open or is editing, and others' saves (merge.js: the merge)
import { connectMetrics, loadStatus, renderStatus, showConnection } from "./common.js";
import { addEntity, load, save, step } from "./editor/core.js";
import "./editor/interactions.js";
import "./editor/drawing.js";
import { showEdgeRates } from "./editor/graph.js";
import { $, NAME, message, state } from "./editor/page.js";
import { onMessage, socketOpened, startPresence } from "./editor/presence.js";
import { redo, undo } from "./editor/store.js";

$("#add-entity").addEventListener("click", addEntity);
$("#undo").addEventListener("click", () => step(undo));
$("#redo").addEventListener("click", () => step(redo));
$("#save").addEventListener("click", save);

const socket = connectMetrics(NAME, {
  onPayload: (payload) => {
    renderStatus($("#status"), payload.status || {});
    showEdgeRates(payload.pods, payload.lag);
    for (const pod of payload.pods || []) {
      state.phases[pod.name] = pod.phase;
      const li = document.querySelector(`.pod[data-name="${CSS.escape(pod.name)}"]`);
      if (li) li.dataset.phase = pod.phase;
    }
  },
  onState: (s) => {
    showConnection($("#conn"), s);
    if (s === "open") socketOpened();
  },
  onMessage,
});
startPresence(socket);

load()
  .then(() => loadStatus(NAME, $("#status")))
  .catch((error) => message(`Could not load ${NAME}: ${error.message}`, "error"));
