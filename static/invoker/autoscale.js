// The autoscaler's recommendation on each entity of the editor (issue 16, item 2): the pod
// count it recommends, the rule that fired and its evidence (a small chart of the backlog and
// the rate), and for operators an Approve button (one revision). Viewers see it, read-only.
// Like drain.js it decorates the editor's entity nodes as they are drawn; editor.js is unchanged.
import { api, escapeHtml } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 10000;
// One request per entity per refresh: a bigger graph shows no recommendations (read the API).
const MAX_ENTITIES = 20;

/** Shows each entity's recommendation in the editor at ``#editor``. */
export function installAutoscale(root = document.getElementById("editor")) {
  if (!root) return;
  const graph = document.getElementById("nodes") || root;
  const canApprove = root.dataset.canRebalance === "1";
  const seen = new Map(); // entity name -> last recommendation answer
  const asked = new Set();
  const fetchOne = async (entity) => {
    try {
      const { data } = await api("GET", policyUrl(root.dataset.name, entity));
      seen.set(entity, data);
      const node = graph.querySelector(`.entity[data-name="${CSS.escape(entity)}"]`);
      const box = node?.querySelector(":scope > .autoscale");
      if (box) render(box, data, canApprove);
    } catch { /* the entity is new and unsaved, or gone: nothing to show */ }
  };
  const tooMany = () => graph.querySelectorAll(".entity[data-name]").length > MAX_ENTITIES;
  const decorate = () => {
    if (tooMany()) return;
    for (const node of graph.querySelectorAll(".entity[data-name]")) {
      if (node.querySelector(":scope > .autoscale")) continue;
      const box = document.createElement("div");
      box.className = "autoscale";
      node.append(box);
      const entity = node.dataset.name;
      if (seen.has(entity)) render(box, seen.get(entity), canApprove);
      else if (!asked.has(entity)) { asked.add(entity); fetchOne(entity); }
    }
  };
  const refresh = async () => {
    if (tooMany()) return;
    for (const node of graph.querySelectorAll(".entity[data-name]")) await fetchOne(node.dataset.name);
  };
  new MutationObserver(decorate).observe(graph, { childList: true, subtree: true });
  decorate();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("button.autoscale-approve");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    approve(root.dataset.name, button);
  }, true);
}

function policyUrl(name, entity) {
  return `/api/deployments/${encodeURIComponent(name)}/entities/${encodeURIComponent(entity)}/autoscale/`;
}

/** The line, the chart and (operators, a change recommended) the Approve button. */
export function render(box, data, canApprove) {
  const rec = data.recommendation || {};
  if (rec.pods === undefined) {
    box.textContent = data.stored ? "Autoscaler: no recommendation yet" : "";
    return;
  }
  const change = rec.pods !== rec.current;
  box.dataset.rule = rec.rule;
  box.innerHTML = `<span class="autoscale-line">${change ? `Autoscaler recommends <b>${rec.pods}</b> pod(s)` : `Autoscaler: ${rec.current} pod(s) fit`}
    <small>(${escapeHtml(rec.rule)}: ${escapeHtml(rec.reason)})${data.auto ? " · auto" : ""}</small></span>`;
  box.append(chart(rec.samples || []));
  if (change && canApprove) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "autoscale-approve";
    button.dataset.pods = String(rec.pods);
    button.textContent = `Approve ${rec.pods} pod(s)`;
    box.append(button);
  }
}

async function approve(name, button) {
  const entity = button.closest(".entity")?.dataset.name;
  if (!entity) return;
  const target = document.getElementById("message");
  try {
    // At the version the page shows: a spec changed meanwhile is refused (412), not acted on unseen.
    const seen = window.invokerEditor?.version;
    const body = { pods: Number(button.dataset.pods), ...(seen ? { resource_version: Number(seen) } : {}) };
    const { data } = await api("POST", `${policyUrl(name, entity)}apply/`, body);
    if (target) { target.textContent = `Autoscaled ${entity} to ${button.dataset.pods} pod(s): revision ${data.revision}.`; target.className = "ok"; }
    setTimeout(() => location.reload(), 1500);
  } catch (error) {
    if (target) { target.textContent = `Autoscale refused: ${error.message}`; target.className = "error"; }
  }
}

/** Backlog (red) and records/s (blue) over the samples, each scaled to its own maximum. */
function chart(samples) {
  const width = 160, height = 36;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "autoscale-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `backlog and rate over ${samples.length} samples`);
  if (samples.length < 2) return svg;
  const t0 = samples[0][0], span = Math.max(1e-9, samples[samples.length - 1][0] - t0);
  const rates = samples.map((s, i) => (i === 0 ? 0 : Math.max(0, (s[2] - samples[i - 1][2]) / Math.max(1e-9, s[0] - samples[i - 1][0]))));
  const series = [[samples.map((s) => s[1]), "#c0392b", "backlog"], [rates, "#2f6fdb", "rate"]];
  for (const [values, stroke, kind] of series) {
    const top = Math.max(1e-9, ...values);
    const points = values.map((v, i) => `${(((samples[i][0] - t0) / span) * (width - 2) + 1).toFixed(1)},${(height - 1 - (v / top) * (height - 2)).toFixed(1)}`);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", stroke);
    line.setAttribute("class", `autoscale-${kind}`);
    svg.append(line);
  }
  return svg;
}
