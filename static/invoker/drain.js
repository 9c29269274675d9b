// Draining a pod from the editor (issue 16, item 3): each pod gets a small "Drain" button
// (operators only); it asks whether to remove the pod afterwards or keep it cordoned, then
// POSTs .../pods/{pod}/drain/. The editor's markup is left as it is: the buttons are added to
// its pod rows as they are drawn (a MutationObserver), so editor.js needs no change.
// The panel's "Remove pod" drains too: a saved pod that owns partitions is removed through the
// API's DELETE, which hands its partitions over first (installRemovePod).
import { api } from "./common.js";

/** Adds the Drain buttons to the editor at ``#editor`` when its user may rebalance, and makes
 * "Remove pod" drain first for every user who may change the spec. */
export function installDrain(root = document.getElementById("editor")) {
  if (root?.dataset.canChange === "1") installRemovePod(root);
  if (!root || root.dataset.canRebalance !== "1") return;
  const graph = document.getElementById("nodes") || root;
  const decorate = () => { for (const pod of graph.querySelectorAll("li.pod")) addButton(pod); };
  new MutationObserver(decorate).observe(graph, { childList: true, subtree: true });
  decorate();
  // Capture: the editor's own click handlers (selection, drag) never see a Drain click.
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("button.drain-pod");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    askAndDrain(root.dataset.name, button);
  }, true);
}

function addButton(pod) {
  if (pod.querySelector(":scope > button.drain-pod")) return;
  const button = document.createElement("button");
  button.className = "drain-pod";
  button.type = "button";
  button.textContent = "Drain";
  button.title = `Hand ${pod.dataset.name}'s partitions to the other pods, then remove or cordon it`;
  pod.append(button);
}

function askAndDrain(name, button) {
  const pod = button.closest("li.pod");
  const entity = button.closest(".entity");
  if (!pod || !entity) return;
  const edited = window.invokerEditor;
  if (edited?.spec && JSON.stringify(edited.spec) !== edited.saved) {
    return report("Save or discard your edits before draining a pod.", "error");
  }
  const dialog = dialogElement();
  dialog.querySelector(".drain-pod-name").textContent = pod.dataset.name;
  dialog.querySelector(".drain-entity-name").textContent = entity.dataset.name;
  dialog.querySelector(".drain-result").textContent = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "remove" && dialog.returnValue !== "cordon") return;
    const url = `/api/deployments/${encodeURIComponent(name)}/entities/${encodeURIComponent(entity.dataset.name)}/pods/${encodeURIComponent(pod.dataset.name)}/drain/`;
    try {
      const seen = window.invokerEditor?.version; // a spec changed meanwhile: 412, nothing drained
      const { data } = await api("POST", url, { then: dialog.returnValue, ...(seen ? { resource_version: Number(seen) } : {}) });
      report(describe(data), "ok");
      setTimeout(() => location.reload(), 1500); // the editor shows the new revision
    } catch (error) {
      report(`Drain refused: ${error.message}`, "error");
    }
  };
  dialog.returnValue = "";
  dialog.showModal();
}

/** One line about what the drain did and what happens next. */
export function describe(data) {
  const moved = data.moves.map((m) => `${m.partition} → ${m.to_pod}`).join(", ") || "nothing to move";
  const next = data.then === "remove"
    ? `${data.pod} is removed once the other pods consume its partitions`
    : `${data.pod} stays, owning nothing (cordoned)`;
  return `Draining ${data.pod} (${moved}): revision ${data.revision}; ${next}.`;
}

/** "Remove pod" on a saved pod that owns partitions: DELETE .../pods/{pod}/, which drains it
 * first (202: its partitions go to the other pods, then it goes) or refuses naming why (the
 * last pod of its entity). A pod added since the last save, or one owning nothing, is left to
 * the editor's own local removal. With unsaved edits the removal is refused: the drain is a
 * revision of the saved spec, and the edits would be lost by the reload after it. */
export function installRemovePod(root) {
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("#panel button.remove-pod");
    const state = window.invokerEditor;
    if (!button || !state?.spec || state.selected === null) return;
    const pod = state.spec.statefulEntities[state.selected]?.pods[Number(button.dataset.pod)];
    const entity = state.spec.statefulEntities[state.selected];
    const saved = savedPod(state.saved, entity?.name, pod?.name);
    if (!saved?.partitions?.length) return;
    event.preventDefault();
    event.stopPropagation();
    if (JSON.stringify(state.spec) !== state.saved) {
      return report(`Save or discard your edits first: ${pod.name} owns partitions ${saved.partitions.join(", ")}, `
        + "which are handed to the other pods before it is removed.", "error");
    }
    removeDrained(root.dataset.name, entity.name, pod.name, state.version);
  }, true);
}

/** The pod called ``pod`` of entity ``entity`` in the saved spec (JSON), if it was saved. */
export function savedPod(saved, entity, pod) {
  const spec = JSON.parse(saved || '{"statefulEntities":[]}');
  return spec.statefulEntities.find((e) => e.name === entity)?.pods.find((p) => p.name === pod);
}

async function removeDrained(name, entity, pod, version) {
  const url = `/api/deployments/${encodeURIComponent(name)}/entities/${encodeURIComponent(entity)}/pods/${encodeURIComponent(pod)}/`;
  try {
    const { data } = await api("DELETE", url, undefined, version ? { ifMatch: `"${version}"` } : {});
    report(data ? describe(data) : `Removed ${pod}.`, "ok");
    setTimeout(() => location.reload(), 1500); // the editor shows the new revision
  } catch (error) {
    report(`Remove refused: ${error.message}`, "error");
  }
}

function report(text, kind) {
  const target = document.getElementById("message");
  if (!target) return;
  target.textContent = text;
  target.className = kind;
}

function dialogElement() {
  let dialog = document.getElementById("drain-dialog");
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.id = "drain-dialog";
  dialog.innerHTML = `<form method="dialog">
      <h2>Drain <span class="drain-pod-name"></span> of <span class="drain-entity-name"></span></h2>
      <p>Its partitions go to the other pods of the entity first (one revision); each resumes where
        this pod committed, so nothing is lost or counted twice.</p>
      <p class="drain-result" role="status"></p>
      <div class="toolbar"><button value="cancel">Cancel</button>
        <button value="cordon" class="drain-cordon">Drain and keep it (cordon)</button>
        <button value="remove" class="primary drain-remove">Drain, then remove it</button></div>
    </form>`;
  document.body.append(dialog);
  return dialog;
}
