// The even-by-count rebalance dialog of an entity (the load-aware one is rebalance.js, tried
// first): the plan as a dry run, then Apply as one revision. On unsaved edits the even plan is
// made here, on the edited spec (scale.js, the server's algorithm), and applied as one undo
// step that Save stores with the edits as one revision: the measured loads and the server's
// plan are of the saved spec.
import { api, escapeHtml } from "../common.js";
import { planByLoad } from "../rebalance.js";
import { change, dirty, load } from "./core.js";
import { $, URL_, entities, message, state } from "./page.js";
import { applyScale, planScale } from "./scale.js";

// By measured load first (rebalance.js); even by count when nothing was measured, or on request.
export async function planRebalance(i) {
  if (dirty()) return planOnEdits(i);
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

/** The even plan of entity `i` as it is edited now, shown in the same dialog; Apply is an edit. */
function planOnEdits(i) {
  const entity = entities()[i];
  let plan;
  try { plan = planScale(entity, entity.pods.length); } catch (error) { return message(`Rebalance refused: ${error.message}`, "error"); }
  $("#plan-entity").textContent = entity.name;
  $("#plan-summary").textContent = plan.moves.length
    ? `${plan.moves.length} partition(s) move, planned evenly by count on your unsaved edits; Apply adds the moves to them (one undo step) and Save stores everything as one revision.`
    : "Already balanced on your unsaved edits: nothing to move.";
  $("#plan-moves").innerHTML = plan.moves.map((m) => `<tr><td>${m.partition}</td><td>${escapeHtml(m.from_pod ?? "nobody")}</td><td>${escapeHtml(m.to_pod)}</td></tr>`).join("");
  $("#plan-apply").disabled = !plan.moves.length;
  const dialog = $("#plan-dialog");
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue !== "apply") return;
    change((spec) => applyScale(spec.statefulEntities[i], plan));
    message(`Rebalanced ${entity.name} (unsaved): ${plan.moves.length} partition(s) moved.`);
  };
  dialog.showModal();
}
