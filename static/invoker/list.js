// The deployments list: rows from the API, each kept live by its metrics websocket.
import { api, connectMetrics, escapeHtml, renderStatus } from "./common.js";

const body = document.querySelector("#deployments tbody");
const sockets = [];

function row(d) {
  const name = escapeHtml(d.name);
  return `<tr data-name="${name}">
    <td><a href="/deployments/${name}/">${name}</a></td>
    <td><b data-status="state" data-state="${escapeHtml(d.state)}">${escapeHtml(d.state)}</b>
        <span class="error" data-status="lastError"></span></td>
    <td data-status="currentRevision">${escapeHtml(d.current_revision || "–")}</td>
    <td data-status="nextRevision">${escapeHtml(d.next_revision || "–")}</td>
    <td data-status="lastReconcile">–</td>
    <td>${d.entity_count}</td><td>${d.pod_count}</td>
    <td><a href="/deployments/${name}/metrics/">metrics</a></td></tr>`;
}

async function load() {
  const rows = [];
  let url = "/api/deployments/";
  while (url) {
    const { data } = await api("GET", url);
    rows.push(...(data.results || data));
    url = data.next || null;
  }
  body.innerHTML = rows.length ? rows.map(row).join("") : `<tr><td colspan="8">No deployments yet.</td></tr>`;
  for (const d of rows) {
    const tr = body.querySelector(`tr[data-name="${CSS.escape(d.name)}"]`);
    sockets.push(connectMetrics(d.name, {
      onPayload: (payload) => renderStatus(tr, payload.status || {}),
      onState: (state) => { tr.dataset.conn = state; },
    }));
  }
}

const form = document.querySelector("#create");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    const manifest = {
      apiVersion: "invokeroperator.invoker.io/v1alpha1", kind: "InvokerDeployment",
      metadata: { name }, spec: { statefulEntities: [] },
    };
    try {
      await api("POST", "/api/deployments/", manifest);
      location.href = `/deployments/${name}/`;
    } catch (error) {
      document.querySelector("#create-error").textContent =
        error.fields.map((f) => `${f.path}: ${f.message}`).join("; ") || error.message;
    }
  });
}

load().catch((error) => { body.innerHTML = `<tr><td colspan="8" class="error">${escapeHtml(error.message)}</td></tr>`; });
