// The logs page: the last N lines of one container of one pod, read over HTTP, or followed over
// a websocket (invoker_web/logs.py) that sends the last N lines and then what the log gains.
// The server bounds every read in lines and bytes; the page keeps at most KEEP lines.
import { api } from "./common.js";

const ROOT = document.querySelector("#logs");
const NAME = ROOT.dataset.name;
const KEEP = 10000;
const $ = (id) => document.getElementById(id);
const state = { pod: null, container: null, pods: [], socket: null, lines: [], reads: 0 };
window.invokerLogs = state;

function showError(message) {
  $("log-error").hidden = !message;
  $("log-error").textContent = message || "";
}

function show(lines, replace) {
  state.lines = replace ? [...lines] : state.lines.concat(lines);
  if (state.lines.length > KEEP) state.lines.splice(0, state.lines.length - KEEP);
  const text = $("log-text");
  const atBottom = text.scrollTop + text.clientHeight >= text.scrollHeight - 4;
  text.textContent = state.lines.join("\n");
  if (atBottom || replace) text.scrollTop = text.scrollHeight;
  ROOT.dataset.lines = String(state.lines.length);
}

function setConn(s) {
  $("log-conn").dataset.state = s;
  $("log-conn").textContent = { open: "following", closed: "", connecting: "connecting…", lost: "follow stopped" }[s] ?? s;
}

function linesWanted() {
  return $("log-lines").value.trim();
}

async function read() {
  stopFollow();
  if (!state.pod || !state.container) return;
  showError("");
  // Only the latest read is shown: an earlier one answering late must not overwrite it.
  const mine = ++state.reads;
  const url = `/deployments/${NAME}/logs/${encodeURIComponent(state.pod)}/${encodeURIComponent(state.container)}/`;
  let result;
  try {
    result = { data: (await api("GET", `${url}?lines=${encodeURIComponent(linesWanted())}`)).data };
  } catch (error) {
    result = { error };
  }
  if (mine !== state.reads) return;
  show(result.data ? result.data.lines : [], true);
  $("log-note").textContent = result.data?.truncated ? "Older lines were left out." : "";
  if (result.error) showError(result.error.message);
  if ($("log-follow").checked) follow();
}

function follow() {
  stopFollow();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const path = `/ws/deployments/${NAME}/logs/${encodeURIComponent(state.pod)}/${encodeURIComponent(state.container)}/`;
  const socket = new WebSocket(`${scheme}://${location.host}${path}?lines=${encodeURIComponent(linesWanted())}`);
  state.socket = socket;
  let first = true;
  setConn("connecting");
  socket.onopen = () => setConn("open");
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "error") { showError(message.error.message); return; }
    if (message.type !== "lines") return;
    show(message.lines, first);
    first = false;
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return; // replaced by another follow, or stopped on purpose
    state.socket = null;
    setConn("lost");
    $("log-conn").dataset.code = String(event.code);
    $("log-follow").checked = false;
  };
}

function stopFollow() {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000);
  setConn("closed");
}

function pick(pod, container) {
  state.pod = pod;
  const info = state.pods.find((p) => p.pod === pod) || { containers: [] };
  state.container = info.containers.includes(container) ? container : info.containers[0] || null;
  $("log-pod").value = pod || "";
  const group = $("log-containers");
  group.replaceChildren(...info.containers.map((name) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tab";
    button.dataset.container = name;
    button.textContent = name;
    button.setAttribute("aria-pressed", String(name === state.container));
    button.addEventListener("click", () => { pick(state.pod, name); read(); });
    return button;
  }));
}

async function start() {
  try {
    const { data } = await api("GET", `/deployments/${NAME}/logs/pods/`);
    state.pods = data.pods;
  } catch (error) {
    showError(error.message);
    return;
  }
  const select = $("log-pod");
  select.replaceChildren(...state.pods.map((p) => new Option(`${p.pod} (${p.entity}, ${p.phase})`, p.pod)));
  if (!state.pods.length) showError("This deployment has no pods running now.");
  const wanted = new URLSearchParams(location.search);
  const pod = state.pods.some((p) => p.pod === wanted.get("pod")) ? wanted.get("pod") : state.pods[0]?.pod;
  pick(pod, wanted.get("container"));
  ROOT.dataset.ready = "true";
  if (pod) await read();
}

$("log-pod").addEventListener("change", (event) => { pick(event.target.value, state.container); read(); });
$("log-read").addEventListener("click", read);
$("log-follow").addEventListener("change", (event) => (event.target.checked ? follow() : stopFollow()));
start();
