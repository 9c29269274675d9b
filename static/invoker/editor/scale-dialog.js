// "Scale to N pods" on an entity (issue 14, item 3): the plan (the pods added or removed and the
// fewest partition moves, the removed pods' partitions first), then Apply as one revision.
// With no unsaved edits the server plans and applies it (POST .../entities/{entity}/scale/,
// trigger "scale"; a scale-in drains the removed pods: they are removed once the other pods
// have taken their partitions over). With unsaved edits a scale-out is planned here on the
// edited spec (scale.js, the server's algorithm) and applied as one undo step, which Save then
// stores as one revision; a scale-in waits for the edits to be saved, since only the server can
// drain a pod, and the button's tooltip says so.
import { api, escapeHtml } from "../common.js";
import { change, dirty, load } from "./core.js";
import { $, CAN_REBALANCE, URL_, entities, message, state } from "./page.js";
import { applyScale, planScale, scaleProblem } from "./scale.js";

const TITLE = "Shows the new pods and the fewest partition moves, then applies them as one revision. "
  + "Scaling in drains the removed pods first (their partitions move, then they go), so it needs "
  + "your unsaved edits saved or discarded; scaling out also works on unsaved edits.";

/** The panel's "Scale to N pods" line for entity `e` (operators only). */
export function scaleControls(e) {
  const off = CAN_REBALANCE ? "" : "disabled";
  const title = CAN_REBALANCE ? TITLE : "Operators may scale an entity";
  return `<div class="toolbar scale-controls"><label>Scale to <input id="scale-pods" type="number" min="1" step="1"
    value="${e.pods.length}" ${off} aria-describedby="scale-help"> pods</label>
    <button id="scale-plan" type="button" title="${escapeHtml(title)}" ${off}>Plan scale…</button>
    <span id="scale-help" class="visually-hidden">${escapeHtml(title)}</span></div>`;
}

/** Plans scaling the selected entity to the count in the panel, and shows the plan. */
export async function planScaleOf(i, pods) {
  const entity = entities()[i];
  const problem = scaleProblem(entity, pods);
  if (problem) return message(`Cannot scale ${entity.name}: ${problem}.`, "error");
  if (!dirty()) return planOnServer(entity.name, pods);
  if (pods < entity.pods.length) {
    return message(`Scaling ${entity.name} in drains pods on the server: save or discard your unsaved edits first.`, "error");
  }
  const plan = planScale(entity, pods);
  const note = "Planned on your unsaved edits: Apply adds the pods and the moves as one undo step; Save stores everything as one revision.";
  show(plan, note, () => {
    change((spec) => applyScale(spec.statefulEntities[i], plan));
    message(`${entity.name} scaled to ${pods} pod(s) (unsaved): ${plan.moves.length} partition(s) move.`);
  });
}

async function planOnServer(entity, pods) {
  const url = `${URL_}entities/${encodeURIComponent(entity)}/scale/`;
  let data;
  try {
    ({ data } = await api("POST", url, { pods, dry_run: true, resource_version: Number(state.version) }));
  } catch (error) { return message(`Scale refused: ${error.message}`, "error"); }
  const note = data.removed.length
    ? "The removed pods' partitions move first (one revision); each removed pod goes once the others consume them."
    : "Nothing changes until you apply.";
  show({ ...data, entity }, note, async () => {
    try {
      const { data: done } = await api("POST", url, { pods, resource_version: Number(state.version) });
      await load();
      const draining = done.draining.length ? `; ${done.draining.join(", ")} removed once taken over` : "";
      message(`Scaled ${entity} to ${pods} pod(s): revision ${done.revision}${draining}; reconcile requested.`, "ok");
    } catch (error) { message(`Scale refused: ${error.message}`, "error"); }
  });
}

/** One line: pods before and after, who is added or removed, how many partitions move. */
export function summary(plan) {
  const who = [plan.added.length ? `adds ${plan.added.join(", ")}` : "", plan.removed.length ? `removes ${plan.removed.join(", ")}` : ""]
    .filter(Boolean).join(" and ");
  const moves = plan.moves.length ? `${plan.moves.length} partition(s) move (the fewest possible)` : "no partition moves";
  return `${plan.pods_before} → ${plan.pods_after} pod(s)${who ? `: ${who}` : ""}; ${moves}.`;
}

function show(plan, note, apply) {
  const dialog = dialogElement();
  dialog.querySelector(".scale-entity").textContent = plan.entity;
  dialog.querySelector(".scale-count").textContent = String(plan.pods_after);
  dialog.querySelector(".scale-summary").textContent = summary(plan);
  dialog.querySelector(".scale-note").textContent = note;
  const leaving = new Set(plan.removed);
  dialog.querySelector(".scale-moves").innerHTML = plan.moves.map((m) => `<tr class="${leaving.has(m.from_pod) ? "from-removed" : ""}">
    <td>${m.partition}</td><td>${escapeHtml(m.from_pod ?? "nobody")}</td><td>${escapeHtml(m.to_pod)}</td></tr>`).join("");
  dialog.querySelector(".scale-apply").disabled = !plan.moves.length && !plan.added.length && !plan.removed.length;
  dialog.returnValue = "";
  dialog.onclose = () => { if (dialog.returnValue === "apply") apply(); };
  dialog.showModal();
}

/** The dialog, made once on first use (the editor's template stays as it is). */
function dialogElement() {
  let dialog = document.getElementById("scale-dialog");
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.id = "scale-dialog";
  dialog.innerHTML = `<form method="dialog">
      <h2>Scale <span class="scale-entity"></span> to <span class="scale-count"></span> pod(s)</h2>
      <p class="scale-summary"></p>
      <p class="scale-note muted"></p>
      <table class="list"><thead><tr><th>Partition</th><th>From pod</th><th>To pod</th></tr></thead><tbody class="scale-moves"></tbody></table>
      <div class="toolbar"><button value="cancel">Cancel</button><button value="apply" class="primary scale-apply">Apply</button></div>
    </form>`;
  document.body.append(dialog);
  return dialog;
}

function requested() {
  return Number($("#scale-pods").value);
}

$("#panel").addEventListener("click", (event) => {
  if (event.target.id === "scale-plan" && state.selected !== null) planScaleOf(state.selected, requested());
});
$("#panel").addEventListener("keydown", (event) => {
  if (event.target.id !== "scale-pods" || event.key !== "Enter" || state.selected === null) return;
  event.preventDefault();
  planScaleOf(state.selected, requested());
});
