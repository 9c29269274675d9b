// The drawing's geometry: pure (no DOM), tested by tests/js/geometry.test.js. Node positions
// (auto-layout or the user's, kept in the `invoker.io/layout` annotation), zoom and fit,
// hit-testing, the minimap's scale and finding an entity by name.

/** The annotation that keeps the user's node positions: JSON `{entity name: [x, y]}`. */
export const LAYOUT_ANNOTATION = "invoker.io/layout";
/** A node's width (15rem) and the gaps auto-layout leaves between columns and between nodes. */
export const NODE_WIDTH = 240;
export const COLUMN_GAP = 96;
export const ROW_GAP = 24;
export const MARGIN = 16;
export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 2;

/** The height a node will likely take before it is drawn: header, topics, a row per pod (chips
 * wrap about 6 to a row) and the unassigned pool. Auto-layout uses the drawn height when known. */
export function estimatedHeight(entity) {
  const rows = entity.pods.reduce((n, pod) => n + Math.max(1, Math.ceil(pod.partitions.length / 6)), 0);
  const pool = Number.isInteger(entity.inputPartitions) ? 50 : 0;
  return 64 + rows * 30 + pool;
}

/** Columns by `depth`, each node below the previous one of its column: `{name: [x, y]}`.
 * `heights[i]` is node i's height. */
export function autoLayout(entities, depth, heights) {
  const next = [];
  const positions = {};
  entities.forEach((e, i) => {
    const column = depth[i] || 0;
    const y = next[column] ?? MARGIN;
    positions[e.name] = [MARGIN + column * (NODE_WIDTH + COLUMN_GAP), y];
    next[column] = y + heights[i] + ROW_GAP;
  });
  return positions;
}

/** The node positions of an annotation's text; anything unreadable in it is left out (the
 * nodes it would have placed fall back to auto-layout), never an error. */
export function parseLayout(text) {
  let parsed;
  try { parsed = JSON.parse(text || "{}"); } catch { return {}; }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
  const layout = {};
  for (const [name, at] of Object.entries(parsed)) {
    if (Array.isArray(at) && at.length === 2 && at.every(Number.isFinite)) layout[name] = [Math.round(at[0]), Math.round(at[1])];
  }
  return layout;
}

/** The annotation's text for `layout`, only the positions of entities that still exist, in a
 * stable order (so that an unchanged layout compares equal); "" when there is none. */
export function layoutText(layout, entities) {
  const kept = entities.filter((e) => layout[e.name]).map((e) => [e.name, layout[e.name]]);
  return kept.length ? JSON.stringify(Object.fromEntries(kept)) : "";
}

/** Each entity's position: the user's when it has one, else auto-layout's. */
export function placed(entities, layout, auto) {
  return entities.map((e) => layout[e.name] || auto[e.name] || [MARGIN, MARGIN]);
}

/** The box around every `{x, y, w, h}` (from the origin, plus a margin): the world's size. */
export function bounds(boxes) {
  let w = 0; let h = 0;
  for (const b of boxes) { w = Math.max(w, b.x + b.w); h = Math.max(h, b.y + b.h); }
  return { w: w + MARGIN, h: h + MARGIN };
}

export const clampZoom = (z) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));

/** The zoom (never above 1) that shows a world of `size` whole in a `view` `{w, h}`. */
export function fitZoom(size, view) {
  if (!size.w || !size.h) return 1;
  return clampZoom(Math.min(1, view.w / size.w, view.h / size.h));
}

/** The scroll that keeps world point under `anchor` (a point of the view) in place when the zoom
 * goes from `from` to `to`; `scroll` `{x, y}` is the view's scroll before. */
export function zoomScroll(scroll, anchor, from, to) {
  return {
    x: ((scroll.x + anchor.x) / from) * to - anchor.x,
    y: ((scroll.y + anchor.y) / from) * to - anchor.y,
  };
}

/** The index of the topmost box (the last drawn) containing world point `{x, y}`, or -1. */
export function hitNode(boxes, point) {
  for (let i = boxes.length - 1; i >= 0; i -= 1) {
    const b = boxes[i];
    if (b && point.x >= b.x && point.x <= b.x + b.w && point.y >= b.y && point.y <= b.y + b.h) return i;
  }
  return -1;
}

/** The scale that fits a world of `size` into a minimap of `map` `{w, h}`. */
export function minimapScale(size, map) {
  return Math.min(map.w / Math.max(size.w, 1), map.h / Math.max(size.h, 1));
}

/** The entity `query` names best: exactly, then by prefix, then anywhere in the name (case
 * ignored); -1 for none or an empty query. */
export function findEntity(entities, query) {
  const q = query.trim().toLowerCase();
  if (!q) return -1;
  const names = entities.map((e) => e.name.toLowerCase());
  for (const match of [(n) => n === q, (n) => n.startsWith(q), (n) => n.includes(q)]) {
    const i = names.findIndex(match);
    if (i !== -1) return i;
  }
  return -1;
}

/** The wire being drawn from `from` (an output port's centre) to the pointer `to`. */
export function wirePath(from, to) {
  const mid = (from.x + to.x) / 2;
  return `M${from.x},${from.y} C${mid},${from.y} ${mid},${to.y} ${to.x},${to.y}`;
}
