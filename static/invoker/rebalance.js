// The load-aware rebalance dialog: the plan from each partition's measured rate, each pod's
// load before and after as numbers and as a small bar chart, and Apply (one revision, trigger
// "rebalance"). Without measured rates it steps aside for the even-by-count plan.
import { api, escapeHtml } from "./common.js";
import { installAutoscale } from "./autoscale.js";
import { installDrain } from "./drain.js";

// The editor imports this module; the pods' Drain buttons and the entities' autoscaler
// recommendations come with it (drain.js, autoscale.js).
installDrain();
installAutoscale();

const SVG = "http://www.w3.org/2000/svg";

/** Previews the load-aware plan of ``entity`` at ``url`` (.../rebalance/load/). Resolves false
 * when nothing was measured yet (the caller then shows the even-by-count plan), true otherwise.
 * ``version()`` is the editor's resource_version, ``reload()`` reloads it after an apply,
 * ``evenByCount()`` opens the even plan, ``message(text, kind)`` reports the outcome. */
export async function planByLoad({ entity, url, version, reload, evenByCount, message }) {
  let data;
  try {
    ({ data } = await api("POST", url, { dry_run: true }));
  } catch (error) {
    if (error.code === "invalid_request" && error.fields.some((f) => f.code === "no_data")) return false;
    message(`Rebalance refused: ${error.message}`, "error");
    return true;
  }
  const dialog = dialogElement();
  dialog.querySelector(".load-entity").textContent = entity;
  dialog.querySelector(".load-summary").textContent = summary(data);
  dialog.querySelector(".load-pods").innerHTML = podRows(data);
  dialog.querySelector(".load-moves").innerHTML = data.moves
    .map((m) => `<tr><td>${m.partition}</td><td>${escapeHtml(m.from_pod ?? "nobody")}</td><td>${escapeHtml(m.to_pod)}</td></tr>`)
    .join("");
  dialog.querySelector(".load-chart").replaceChildren(chart(data));
  dialog.querySelector(".load-apply").disabled = !data.moves.length;
  dialog.onclose = async () => {
    if (dialog.returnValue === "even") return evenByCount();
    if (dialog.returnValue !== "apply") return;
    try {
      const { data: done } = await api("POST", url, { dry_run: false, resource_version: version() });
      await reload();
      message(`Rebalanced ${entity} by load: revision ${done.revision}; reconcile requested.`, "ok");
    } catch (error) { message(`Rebalance refused: ${error.message}`, "error"); }
  };
  dialog.returnValue = "";
  dialog.showModal();
  return true;
}

/** One line: how many moves, the ratio before and after, and how it compares with the bound. */
export function summary(data) {
  const ratios = `max/avg load ${data.ratio_before.toFixed(2)} → ${data.ratio_after.toFixed(2)} (target ${data.target.toFixed(2)})`;
  if (!data.moves.length) return `Nothing to move: ${ratios}.`;
  const bound = data.optimal ? "the fewest possible" : `at least ${data.lower_bound} needed`;
  const skew = data.achievable ? "" : " One partition alone outweighs the target: it keeps a pod to itself.";
  return `${data.moves.length} partition(s) move (${bound}); ${ratios}.${skew} Nothing changes until you apply.`;
}

function podRows(data) {
  const unit = data.metric === "bytes" ? "B/s" : "records/s";
  return Object.keys(data.before)
    .map((pod) => {
      const after = pod in data.after ? data.after[pod].toFixed(1) : "removed";
      return `<tr data-pod="${escapeHtml(pod)}"><td>${escapeHtml(pod)}</td><td>${data.before[pod].toFixed(1)}</td><td>${after}</td><td>${unit}</td></tr>`;
    })
    .join("");
}

/** Bars per pod, before (grey) and after (blue), with the cap as a line: SVG, no inline style. */
function chart(data) {
  const pods = Object.keys(data.before);
  const mean = Object.values(data.after).reduce((a, b) => a + b, 0) / Math.max(1, Object.keys(data.after).length);
  const top = Math.max(1e-9, ...Object.values(data.before), ...Object.values(data.after), data.target * mean);
  const width = 360, height = 120, slot = width / Math.max(1, pods.length), bar = Math.max(1, slot / 2 - 2);
  const svg = element("svg", { viewBox: `0 0 ${width} ${height + 14}`, width, height: height + 14, role: "img" });
  svg.setAttribute("aria-label", `load per pod before and after, ${pods.length} pods`);
  pods.forEach((pod, i) => {
    const x = i * slot + 1;
    for (const [value, dx, fill, kind] of [[data.before[pod], 0, "#b8bec6", "before"], [data.after[pod] ?? 0, bar + 1, "#2f6fdb", "after"]]) {
      const h = (value / top) * height;
      const rect = element("rect", { x: x + dx, y: height - h, width: bar, height: h, fill, class: `bar-${kind}` });
      rect.append(element("title", {}, `${pod} ${kind}: ${value.toFixed(1)}`));
      svg.append(rect);
    }
    if (pods.length <= 12) svg.append(element("text", { x: x, y: height + 12, "font-size": 9 }, pod));
  });
  const y = height - ((data.target * mean) / top) * height;
  svg.append(element("line", { x1: 0, x2: width, y1: y, y2: y, stroke: "#c0392b", "stroke-dasharray": "4 3", class: "cap" }));
  return svg;
}

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The dialog, made once on first use (the editor's template stays as it is). */
function dialogElement() {
  let dialog = document.getElementById("load-plan-dialog");
  if (dialog) return dialog;
  dialog = document.createElement("dialog");
  dialog.id = "load-plan-dialog";
  dialog.innerHTML = `<form method="dialog">
      <h2>Rebalance <span class="load-entity"></span> by load</h2>
      <p class="load-summary"></p>
      <div class="load-chart"></div>
      <table class="list"><thead><tr><th>Pod</th><th>Load now</th><th>After</th><th></th></tr></thead><tbody class="load-pods"></tbody></table>
      <table class="list"><thead><tr><th>Partition</th><th>From pod</th><th>To pod</th></tr></thead><tbody class="load-moves"></tbody></table>
      <div class="toolbar"><button value="cancel">Cancel</button><button value="even" class="load-even">Even by count…</button>
        <button value="apply" class="primary load-apply">Apply</button></div>
    </form>`;
  document.body.append(dialog);
  return dialog;
}
