// The deployments list: rows from the API, kept live by ONE websocket for the whole list
// (consumers.DeploymentListConsumer): rows appear when a deployment is created, disappear when
// it is deleted (by anyone, through any interface), and each row's status follows the collector.
import { api, escapeHtml, renderStatus, showConnection } from "./common.js";

const table = document.querySelector("#deployments");
const body = table.querySelector("tbody");
const conn = document.querySelector("#conn");
const canDelete = table.dataset.canDelete === "true";
/** Close codes after which reconnecting cannot help (consumers.py: HTTP 401 and 403). */
const FINAL_CLOSE = { 4401: "unauthenticated", 4403: "forbidden" };

function rowHtml(d) {
  const name = escapeHtml(d.name);
  const remove = canDelete ? `<button type="button" class="danger delete" data-name="${name}">Delete…</button>` : "";
  return `<td><a href="/deployments/${name}/">${name}</a></td>
    <td><b data-status="state" data-state="${escapeHtml(d.state)}">${escapeHtml(d.state)}</b>
        <span class="error" data-status="lastError"></span></td>
    <td data-status="currentRevision">${escapeHtml(d.current_revision || "–")}</td>
    <td data-status="nextRevision">${escapeHtml(d.next_revision || "–")}</td>
    <td data-status="lastReconcile">–</td>
    <td data-field="entities">${d.entity_count}</td><td data-field="pods">${d.pod_count}</td>
    <td><a href="/deployments/${name}/metrics/">metrics</a> · <a href="/deployments/${name}/topics/">topics</a> · <a href="/deployments/${name}/revisions/">revisions</a></td>
    <td>${remove}</td>`;
}

function rowOf(name) {
  return body.querySelector(`tr[data-name="${CSS.escape(name)}"]`);
}

async function fetchAll() {
  const rows = [];
  let url = "/api/deployments/";
  while (url) {
    const { data } = await api("GET", url);
    rows.push(...(data.results || data));
    url = data.next || null;
  }
  return rows;
}

function showEmpty() {
  if (!body.querySelector("tr[data-name]")) {
    body.innerHTML = `<tr class="placeholder"><td colspan="9">No deployments yet.</td></tr>`;
  }
}

let loads = 0;
/** Reloads the rows: new ones are added, gone ones removed, and rows already shown keep the
 * live status the socket gave them. Only the newest of overlapping reloads is drawn. */
async function refresh() {
  const load = ++loads;
  const rows = await fetchAll();
  if (load !== loads) return;
  const trs = rows.map((d) => {
    let tr = rowOf(d.name);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.name = d.name;
      tr.innerHTML = rowHtml(d);
    } else {
      tr.querySelector('[data-field="entities"]').textContent = d.entity_count;
      tr.querySelector('[data-field="pods"]').textContent = d.pod_count;
    }
    return tr;
  });
  body.replaceChildren(...trs);
  showEmpty();
  table.dataset.loaded = String(load);
}

let running = null;
let again = false;
/** A refresh after a burst of creations: one at a time, and one more if any came meanwhile. */
function scheduleRefresh() {
  if (running) { again = true; return; }
  running = refresh().catch(report).finally(() => {
    running = null;
    if (again) { again = false; scheduleRefresh(); }
  });
}

function removeRow(name) {
  const tr = rowOf(name);
  if (tr) tr.remove();
  showEmpty();
}

function report(error) {
  body.innerHTML = `<tr class="placeholder"><td colspan="9" class="error">${escapeHtml(error.message)}</td></tr>`;
}

function connectList() {
  let delay = 500;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/deployments/`);
    showConnection(conn, "connecting");
    socket.onopen = () => {
      delay = 500;
      showConnection(conn, "open");
      scheduleRefresh(); // whatever changed while the socket was down
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "created") scheduleRefresh();
      else if (message.type === "deleted") removeRow(message.name);
      else if (message.type === "status") {
        const tr = rowOf(message.name);
        if (tr) renderStatus(tr, message.status || {});
      }
    };
    socket.onclose = (event) => {
      const final = FINAL_CLOSE[event.code];
      showConnection(conn, final || "lost");
      if (final) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
}

// Delete, after a confirmation naming what goes: the spec's entities and pods, the revisions,
// and what runs (the next reconcile removes it). The deletion is conditional on the version
// the dialog showed, so a spec changed meanwhile is not deleted unseen.
const dialog = document.querySelector("#delete-dialog");
let pending = null;

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

async function confirmDelete(name) {
  const [{ data: manifest, etag }, { data: revisions }] = await Promise.all([
    api("GET", `/api/deployments/${name}/`),
    api("GET", `/api/deployments/${name}/revisions/`),
  ]);
  const entities = manifest.spec.statefulEntities || [];
  const pods = entities.flatMap((e) => e.pods || []);
  const revisionCount = revisions.count ?? (revisions.results || revisions).length;
  const items = [
    `the deployment ${name} and its spec`,
    `${plural(entities.length, "entity", "entities")}: ${entities.map((e) => e.name).join(", ") || "none"}`,
    `${plural(pods.length, "pod", "pods")}: ${pods.map((p) => p.name).join(", ") || "none"}`,
    `${plural(revisionCount, "revision", "revisions")} and the reconcile runs`,
    `what runs for it (pods, ConfigMaps), removed by the next reconcile`,
  ];
  dialog.querySelector('[data-field="name"]').textContent = name;
  dialog.querySelector("#delete-what").replaceChildren(...items.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
  dialog.querySelector("#delete-error").textContent = "";
  pending = { name, etag };
  dialog.showModal();
}

dialog.querySelector("#delete-confirm").addEventListener("click", async () => {
  if (!pending) return;
  const { name, etag } = pending;
  try {
    await api("DELETE", `/api/deployments/${name}/`, undefined, { ifMatch: etag });
  } catch (error) {
    dialog.querySelector("#delete-error").textContent = `Not deleted: ${error.message}`;
    return;
  }
  pending = null;
  dialog.close();
  removeRow(name); // the socket says so too, for every other open list
  document.querySelector("#list-message").textContent = `Deleted ${name}.`;
});

body.addEventListener("click", (event) => {
  const button = event.target.closest("button.delete");
  if (!button) return;
  confirmDelete(button.dataset.name).catch((error) => {
    document.querySelector("#list-message").textContent = `Cannot delete: ${error.message}`;
  });
});

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

scheduleRefresh();
connectList();
