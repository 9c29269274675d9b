// The side panel: the selected entity's fields (or the deployment's), patched in place when only
// values changed (the focus stays where it was) and rebuilt when its fields changed (another
// entity selected, a pod added or removed); the server's field errors shown at their field.
import { escapeHtml } from "../common.js";
import { change, render } from "./core.js";
import { $, CAN_CHANGE, FIELDS, INTEGER_KEYS, NAME, entities, state, view } from "./page.js";
import { scaleControls } from "./scale-dialog.js";
import { addPod, connect, setPath } from "./spec.js";

/** Every section and name of a pod's resources, e.g. ["limits", "cpu"] (from the served declaration). */
const RESOURCE_FIELDS = FIELDS.resources.sections.flatMap((section) => FIELDS.resources.names.map((name) => [section, name]));

function field(label, path, value, type = "text") {
  return `<label>${label}<input data-path="${path}" type="${type}" value="${escapeHtml(value ?? "")}" ${CAN_CHANGE ? "" : "readonly"}></label>`;
}

/** A list shows as text: pull secrets by name, partitions as they are, comma-separated. */
function shown(value) {
  return Array.isArray(value) ? value.map((item) => (typeof item === "object" ? item.name : item)).join(", ") : value;
}

/** The inputs of the declared `fields` of `object`, at `base`; `prefix` goes before each label. */
function declared(fields, base, object, prefix = "") {
  return fields.map((f) => field(prefix ? `${prefix} ${f.label.toLowerCase()}` : f.label, `${base}.${f.key}`,
    shown(object[f.key]), f.type === "integer" ? "number" : "text")).join("");
}

export function renderPanel() {
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
      ${declared(FIELDS.deployment, "spec", s)}
      <p class="muted">Select an entity to edit it.</p>`;
  }
  const base = `spec.statefulEntities[${i}]`;
  const others = entities().map((o, k) => (k === i ? "" : `<option value="${k}">${escapeHtml(o.name)}</option>`)).join("");
  const pods = e.pods.map((pod, j) => `<fieldset class="podfields"><legend>Pod ${j + 1}</legend>
    ${declared(FIELDS.pod, `${base}.pods[${j}]`, pod, "Pod")}
    ${RESOURCE_FIELDS.map(([section, name]) => field(`${section} ${name}`, `${base}.pods[${j}].resources.${section}.${name}`,
      pod.resources?.[section]?.[name])).join("")}
    <button class="remove-pod" data-pod="${j}" ${CAN_CHANGE ? "" : "disabled"}>Remove pod</button>
    ${CAN_CHANGE ? `<a class="pod-logs" href="/deployments/${encodeURIComponent(NAME)}/logs/?pod=${encodeURIComponent(pod.name)}&amp;container=io">Logs</a>` : ""}</fieldset>`).join("");
  return `<h2>Entity</h2>
    ${declared(FIELDS.entity, base, e)}
    <label>Connect output to <select id="connect" ${CAN_CHANGE ? "" : "disabled"}><option value="">—</option>${others}</select></label>
    <h3>Pods</h3>${scaleControls(e)}${pods}
    <div class="toolbar"><button id="add-pod" ${CAN_CHANGE ? "" : "disabled"}>Add pod</button>
    <button id="remove-entity" class="danger" ${CAN_CHANGE ? "" : "disabled"}>Remove entity</button></div>`;
}

export function showFieldErrors() {
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

$("#panel").addEventListener("change", (event) => {
  const el = event.target;
  if (el.dataset.path) change((spec) => setPath(spec, el.dataset.path, el.value.trim(), INTEGER_KEYS));
  if (el.id === "connect" && el.value !== "") {
    const i = state.selected; const k = Number(el.value);
    change((spec) => connect(spec.statefulEntities[i], spec.statefulEntities[k]));
  }
});

$("#panel").addEventListener("click", (event) => {
  const el = event.target;
  const i = state.selected;
  if (el.id === "add-pod") {
    change((spec) => addPod(spec.statefulEntities[i]));
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

// Escape in the panel goes back to the selected entity on the graph.
$("#panel").addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || state.selected === null) return;
  document.querySelector(`#nodes .entity[data-entity="${state.selected}"]`)?.focus();
});
