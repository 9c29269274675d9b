// Presence (issue 14 item 8): who else has this deployment open, and who is editing it (has
// unsaved edits), over the page's one websocket (topology_editor/presence.py), never polled.
// This tab tells the server whether it is editing when the socket opens and whenever that
// changes. When someone saves, the server says so at once: a tab without unsaved edits takes
// the new spec in place; a tab with edits is offered a merge of the other change into its own
// when the two touch different fields (merge.js), or told which fields conflict.
import { api } from "../common.js";
import { change, load } from "./core.js";
import { merge3 } from "./merge.js";
import { $, CAN_CHANGE, URL_, USER, message, state } from "./page.js";

let connection = null; // connectMetrics's handle: send() and drop()
let sentEditing = null; // what the server was last told; null: not told since the socket opened
let newestSave = 0; // the newest version announced, so that a repeated announcement loads nothing

/** Unsaved edits, as the toolbar shows them (core.js's render keeps #dirty, layout included). */
const editing = () => CAN_CHANGE && !$("#dirty").hidden;

/** Wires presence to the metrics socket's handle; every change of "unsaved" is reported. */
export function startPresence(handle) {
  connection = handle;
  new MutationObserver(reportEditing).observe($("#dirty"), { attributes: true, attributeFilter: ["hidden"] });
}

/** The socket (re)opened: a new server-side session of presence, told where this tab is. */
export function socketOpened() {
  sentEditing = null;
  reportEditing();
}

/** Tells the server when this tab starts or stops editing, and drops an offer to merge a save
 * the tab has since caught up with (saved over, merged or taken). */
export function reportEditing() {
  const now = editing();
  if (connection && now !== sentEditing && connection.send({ type: "presence", editing: now })) sentEditing = now;
  dropStaleOffer();
}

function dropStaleOffer() {
  const offer = document.getElementById("merge-offer");
  if (offer && Number(offer.dataset.version) <= Number(state.version)) offer.remove();
}

/** A socket message other than metrics: the others present, or someone's save. */
export function onMessage(msg) {
  if (msg.type === "presence") showPresence(msg.others || []);
  else if (msg.type === "saved") onSaved(msg).catch((error) => message(`Could not load the saved spec: ${error.message}`, "error"));
}

function bar(id, label) {
  let element = document.getElementById(id);
  if (!element) {
    element = document.createElement("div");
    element.id = id;
    element.className = "toolbar presence";
    element.setAttribute("aria-label", label);
    $("#errors").before(element);
  }
  return element;
}

/** "Also open by: operator (editing), viewer (viewing)", one user once whatever their tabs. */
export function showPresence(others) {
  const element = bar("presence", "Who else has this deployment open");
  element.setAttribute("aria-live", "polite");
  if (!others.length) {
    element.textContent = "No one else has this deployment open.";
    return;
  }
  const people = others.map(({ user, editing }) => {
    const span = document.createElement("span");
    span.className = "presence-user";
    span.dataset.user = user;
    span.dataset.editing = editing ? "1" : "0";
    span.textContent = `${user} (${editing ? "editing" : "viewing"})`;
    return span;
  });
  element.replaceChildren("Also open by: ", ...people.flatMap((span, i) => (i ? [", ", span] : [span])));
}

async function onSaved(event) {
  const version = Number(event.version);
  if (version <= Math.max(Number(state.version), newestSave)) return; // this tab's own save, or seen
  newestSave = version;
  const who = event.by || "someone";
  if (!editing()) {
    await load(); // in place: the page is not reloaded
    dropStaleOffer();
    if (event.by !== USER) message(`${who} saved revision ${event.revision}; it is shown here.`, "ok");
    return;
  }
  const { data } = await api("GET", URL_);
  if (Number(data.metadata.resourceVersion) <= Number(state.version)) return;
  if (JSON.stringify(data.spec) === JSON.stringify(state.spec)) return; // this tab's save, in flight
  offerMerge(data, who, event.revision);
}

/** Loads the saved spec and makes this tab's edits merged into it the edited spec, one undo
 * step away from theirs. Merged again against what the load got, which may be newer still: a
 * field both changed then keeps this tab's value, and the message names it. */
async function mergeInto(revision) {
  const base = JSON.parse(state.saved);
  const mine = JSON.parse(JSON.stringify(state.spec));
  await load();
  const { merged, conflicts } = merge3(base, state.spec, mine);
  change((spec) => {
    for (const key of Object.keys(spec)) delete spec[key];
    Object.assign(spec, JSON.parse(JSON.stringify(merged)));
  });
  dropStaleOffer();
  const kept = conflicts.length ? `; yours kept where both changed: ${conflicts.join(", ")}` : "";
  message(`Merged revision ${revision} into your edits (unsaved)${kept}.`, "ok");
}

function offerMerge(data, who, revision) {
  const { conflicts, theirs } = merge3(JSON.parse(state.saved), data.spec, state.spec);
  const offer = bar("merge-offer", "A change saved by someone else");
  offer.setAttribute("role", "alert");
  offer.dataset.version = String(data.metadata.resourceVersion);
  const text = document.createElement("span");
  const button = document.createElement("button");
  if (conflicts.length) {
    offer.dataset.conflicts = conflicts.join(" ");
    text.textContent = `${who} saved revision ${revision}, changing the same fields as your unsaved edits: ${conflicts.join(", ")}. Saving yours would be refused.`;
    button.textContent = "Discard mine and take theirs";
    button.addEventListener("click", () => load().then(dropStaleOffer));
  } else {
    delete offer.dataset.conflicts;
    text.textContent = `${who} saved revision ${revision} while you had unsaved edits; it changes ${theirs.join(", ")}, which you did not touch.`;
    button.textContent = "Merge their change into mine";
    button.className = "primary";
    button.addEventListener("click", () => mergeInto(revision).catch((error) => message(`Not merged: ${error.message}`, "error")));
  }
  offer.replaceChildren(text, " ", button);
}
