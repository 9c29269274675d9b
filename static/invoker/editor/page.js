// What every part of the editor page shares: the deployment it edits, the user's rights (from
// the template), the one editor state (store.js) and what is on screen (the view).
import { createState } from "./store.js";

const root = document.querySelector("#editor");
export const NAME = root.dataset.name;
/** Who this page is signed in as: a save announced as theirs is applied without a message, since
 * the action that made it (a rebalance, a scale, another tab) says what it did. */
export const USER = root.dataset.user || "";
export const CAN_CHANGE = root.dataset.canChange === "1";
export const CAN_REBALANCE = root.dataset.canRebalance === "1";
export const URL_ = `/api/deployments/${NAME}/`;
export const $ = (selector) => document.querySelector(selector);
/** The spec's fields, defaults and bounds, from its one declaration (orchestrator/spec/editor_fields.py),
 * served with the page: the panel and new entities are drawn from them. */
export const FIELDS = JSON.parse($("#spec-fields").textContent);
/** The keys whose text the API takes as a number. */
export const INTEGER_KEYS = new Set(
  [...FIELDS.deployment, ...FIELDS.entity, ...FIELDS.pod].filter((f) => f.type === "integer").map((f) => f.key),
);

export const state = createState();
window.invokerEditor = state; // for the browser tests and debugging

export const entities = () => state.spec.statefulEntities;

// What is on screen, so that a render changes only what changed (issue 14: at 100 x 20 a full
// re-render took about a second). `keys[i]` is what entity i's node was drawn from, `layout`
// the columns; `owners` the saved pod of each partition (chips moved since are marked);
// `pending` the nodes drawn without their pods yet (graph.js, fillPending).
export const view = {
  epoch: 0, keys: [], layout: null, owners: {}, edges: "", panel: "", dirty: null,
  pending: new Set(), filling: null, drawn: [],
};

/** The toolbar's status text; `kind` "ok" or "error" colours it. */
export function message(text, kind = "") {
  const m = $("#message");
  m.textContent = text;
  m.className = kind;
}
