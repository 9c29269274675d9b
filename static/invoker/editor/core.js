// Loading, saving, edits and the render that follows each. Save sends one request per intent,
// with If-Match: edits that only moved partitions go as a batch of moves (`moves/`: the audit
// says "moved partition 3 of splitter from splitter-1 to splitter-0"), anything else as the whole
// manifest (PUT), whose audit entry names the moves it also made. Either way one revision.
import { api, renderStatus } from "../common.js";
import { LAYOUT_ANNOTATION, layoutText, parseLayout } from "./geometry.js";
import { allDrawn, renderGraph } from "./graph.js";
import { renderPanel } from "./panel.js";
import { $, CAN_CHANGE, FIELDS, NAME, URL_, entities, message, state, view } from "./page.js";
import { POOL, moving, movePartitions as moveInSpec, newEntity, uniqueName } from "./spec.js";
import { adopt as adoptSpec, commit, isDirty, onlyMoves, savedOwners } from "./store.js";
import { refreshYaml } from "./yaml-tab.js";

function adopt(manifest) {
  adoptSpec(state, manifest);
  // The user's node positions: an annotation, so that the spec's contract does not change.
  state.layout = parseLayout(manifest.metadata.annotations?.[LAYOUT_ANNOTATION]);
  state.savedLayout = layoutText(state.layout, manifest.spec.statefulEntities);
  view.owners = savedOwners(state.saved);
  view.epoch += 1; // every node shows its chips against the new saved spec
  if (manifest.status) renderStatus($("#status"), manifest.status, "initial");
}

/** (Re)loads the deployment; the page is marked loaded once every chip is drawn. */
export async function load() {
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

/** The manifest of the edited spec, as the API takes it. */
export function manifest() {
  return {
    apiVersion: "invokeroperator.invoker.io/v1alpha1", kind: "InvokerDeployment",
    metadata: { name: NAME, resourceVersion: state.version, ...layoutAnnotations(true) }, spec: state.spec,
  };
}

/** The node positions as the manifest's annotation; none when every node is auto-laid-out,
 * unless `always` (a save: "" clears the saved positions, while no annotation keeps them). */
export function layoutAnnotations(always = false) {
  const text = layoutText(state.layout || {}, state.spec.statefulEntities);
  return text || always ? { annotations: { [LAYOUT_ANNOTATION]: text } } : {};
}

const layoutDirty = () => layoutText(state.layout || {}, state.spec.statefulEntities) !== state.savedLayout;

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

export async function save() {
  message("Saving…");
  try {
    const moves = !layoutDirty() && onlyMoves(state.saved, state.spec);
    const revision = moves ? await saveMoves(moves) : await saveManifest();
    state.errors = [];
    message(`Saved revision ${revision}; reconcile requested.`, "ok");
  } catch (error) {
    state.errors = error.fields.length ? error.fields : [{ path: "", message: error.message }];
    message(error.status === 412 ? "Someone else saved this deployment meanwhile: reload to see it." : "Not saved.", "error");
  }
  render();
}

/** One undoable edit of the spec (nothing for a role that cannot change it), then a render. */
export function change(mutate) {
  if (!CAN_CHANGE) return;
  commit(state, mutate);
  render();
}

/** Undo or redo (`travel` is store.undo or store.redo), rendered when there was a step. */
export function step(travel) {
  if (travel(state)) render();
}

export const dirty = () => isDirty(state) || layoutDirty();

export function addEntity() {
  change((spec) => {
    spec.statefulEntities.push(newEntity(uniqueName(spec.statefulEntities, "entity"), FIELDS.newEntity));
    state.selected = spec.statefulEntities.length - 1;
  });
}

/** Moves chips of entity `e` (each `{pod, partition}`, POOL for the pool) to `toPod`, as one undo step. */
export function movePartitions(e, chips, toPod) {
  const moved = moving(chips, toPod);
  if (!moved.length) return;
  change((spec) => {
    moveInSpec(spec.statefulEntities[e], moved, toPod);
    state.picked.clear();
  });
  const where = toPod === POOL ? "the unassigned pool" : entities()[e].pods[toPod].name;
  const what = moved.length === 1 ? `Partition ${moved[0].partition}` : `Partitions ${moved.map((c) => c.partition).join(", ")}`;
  message(`${what} moved to ${where} (unsaved).`);
}

/** Brings the page up to the state: only the nodes and panel fields that changed are redrawn. */
export function render() {
  renderGraph();
  renderPanel();
  $("#undo").disabled = !state.undo.length;
  $("#redo").disabled = !state.redo.length;
  const changed = dirty();
  $("#save").disabled = !CAN_CHANGE || !changed;
  $("#dirty").hidden = !changed;
  // Rebalancing works on unsaved edits too: rebalance-dialog.js plans them in the browser.
  view.dirty = changed;
  refreshYaml();
}
