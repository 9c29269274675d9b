// Shared by every page: the REST client (CSRF, ETags, the API's error shape), the metrics
// websocket with automatic reconnection, and the status bar.

import { paintHealth, renderHealth } from "./health.js";

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.fields = error.fields || [];
  }
}

/** Calls the API; resolves to {data, etag}, rejects with an ApiError. */
export async function api(method, url, body, { ifMatch, contentType } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (ifMatch) headers["If-Match"] = ifMatch;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType || "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  const text = await response.text();
  let data;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, etag: response.headers.get("ETag") };
}

/** Close codes after which reconnecting cannot help (consumers.py: HTTP 401 and 403). */
const FINAL_CLOSE = { 4401: "unauthenticated", 4403: "forbidden" };
/** Close codes of a server that lost Redis (consumers.py: 1012 restart, 1013 try again later):
 * the page says so and reconnects. */
const RETRY_CLOSE = { 1012: "restarting", 1013: "restarting" };

/** The metrics websocket of one deployment; reconnects with back-off, never polls. Messages of
 * other types (the editor's presence) go to `onMessage`. Signed out
 * (4401) or without the role (4403) it stops and says so. Each payload also colours the page's
 * pods and entities by health (health.js), wherever the page draws them. */
export function connectMetrics(name, { onPayload, onState, onMessage }) {
  let delay = 500;
  let socket;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/deployments/${name}/metrics/`);
    onState("connecting");
    socket.onopen = () => { delay = 500; onState("open"); };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type !== "metrics") { if (onMessage) onMessage(message); return; } // e.g. the editor's presence
      onPayload(message.payload);
      paintHealth(document, message.payload.pods); // the editor's pods and entities, by health
    };
    socket.onclose = (event) => {
      const final = FINAL_CLOSE[event.code];
      onState(final || RETRY_CLOSE[event.code] || "lost");
      if (final) return;
      // Jittered: the thousand pages a Redis restart closes at once do not all come back at once.
      setTimeout(open, delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
  // drop() closes the current socket as a network failure would; it reconnects by itself.
  // send() says whether the message went: only on an open socket (presence is re-sent on open).
  return {
    drop: () => socket && socket.close(4000, "dropped"),
    send: (data) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(data));
      return true;
    },
  };
}

const CONNECTION_TEXT = {
  connecting: "connecting…", open: "live", lost: "connection lost — reconnecting…",
  restarting: "server restarting — reconnecting…",
  unauthenticated: "signed out — reload to sign in",
  forbidden: "signed out of live updates — your role does not allow reading deployments",
};

export function showConnection(element, state) {
  element.dataset.state = state;
  element.textContent = CONNECTION_TEXT[state] || state;
}

/** "off", "on", or "paused since 08:51 (rollback by operator via API, revision ...)". */
export function describeAutomation(automation) {
  if (!automation.enabled) return "off";
  if (!automation.pausedSince) return "on";
  const since = new Date(automation.pausedSince).toLocaleString();
  return `paused since ${since} (${automation.pausedReason})`;
}

export function describeReconcile(last) {
  if (!last) return "none yet";
  const parts = [last.result];
  if (last.durationMs != null) parts.push(`${Math.round(last.durationMs)} ms`);
  if (last.writes != null) parts.push(`${last.writes} writes`);
  if (last.finishedAt) parts.push(new Date(last.finishedAt).toLocaleTimeString());
  return parts.join(" · ");
}

/** The conditions that do not hold, each with its reason: "TopicsReady: TopicMissing". */
export function describeConditions(conditions) {
  return (conditions || [])
    .filter((c) => c.status !== "True")
    .map((c) => `${c.type}: ${c.reason}`)
    .join(" · ");
}

/** Fills `[data-status=key]` elements under `root` from a status object (payload or API). */
export function renderStatus(root, status, source = "payload") {
  if (source === "initial" && root.dataset.source === "payload") return; // a newer payload won
  root.dataset.source = source;
  const values = {
    state: status.state || "–",
    currentRevision: status.currentRevision || status.current_revision || "–",
    nextRevision: status.nextRevision || status.next_revision || "–",
    lastReconcile: "lastReconcile" in status ? describeReconcile(status.lastReconcile) : undefined,
    reconcileCount: status.reconcileCount,
    lastError: status.lastError || status.last_error || "",
    message: status.message || status.status_message || "",
    conditions: "conditions" in status ? describeConditions(status.conditions) : undefined,
    automation: status.automation ? describeAutomation(status.automation) : undefined,
  };
  for (const element of root.querySelectorAll("[data-status]")) {
    const value = values[element.dataset.status];
    if (value !== undefined && value !== null) element.textContent = value;
  }
  const state = root.querySelector('[data-status="state"]');
  if (state) state.dataset.state = values.state;
  renderHealth(root, status.components); // pods per phase and the top reasons, not every pod
  if (status.automation) offerResume(root, status.automation);
}

/** Operators get a Resume button while automation is paused (the template renders it for them). */
function offerResume(root, automation) {
  const resume = root.querySelector(".automation-resume");
  if (!resume) return;
  resume.hidden = !(automation.enabled && automation.pausedSince);
  resume.onclick = async () => {
    try {
      await api("POST", `/api/deployments/${resume.dataset.name}/automation/`, { enabled: true });
      resume.hidden = true;
      root.querySelector('[data-status="automation"]').textContent = "on";
    } catch (error) { resume.textContent = `Resume refused: ${error.message}`; }
  };
}

export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The status from the API (with the latest reconcile run), until the websocket's first payload. */
export async function loadStatus(name, root) {
  const { data } = await api("GET", `/api/deployments/${name}/status/`);
  const run = (data.reconcile_runs || []).find((r) => r.result !== "running");
  return renderStatus(root, {
    ...data,
    reconcileCount: undefined,
    lastReconcile: run ? {
      result: run.result, durationMs: run.duration_ms, writes: run.api_writes, finishedAt: run.finished_at,
    } : null,
  }, "initial");
}
