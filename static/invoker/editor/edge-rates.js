// Records/s on the editor's edges (issue 18 item 3), from the metrics message the page already
// receives over its websocket (no request of its own). An edge carries entity i's output topic to
// entity j; its rate is what j's pods consume per second (the collector's `recordsInPerSec`,
// summed over j's pods), else what i's pods write (`recordsOutPerSec`) while j reports nothing.
// Pure but for the kept rates; graph.js draws `edgeRateSvg` under each edge's topic name.

/** The kept rates: {entity: {in, out}} from the last metrics message. */
export const rates = { byEntity: {} };

/** Each entity's records/s in and out, summed over its pods; null where no pod reported one. */
export function entityRates(pods) {
  const byEntity = {};
  for (const pod of pods || []) {
    const sums = (byEntity[pod.entity] ||= { in: null, out: null });
    if (typeof pod.recordsInPerSec === "number") sums.in = (sums.in ?? 0) + pod.recordsInPerSec;
    if (typeof pod.recordsOutPerSec === "number") sums.out = (sums.out ?? 0) + pod.recordsOutPerSec;
  }
  return byEntity;
}

/** The records/s on the edge from entity `writer` to entity `reader` (names), or null. */
export function edgeRate(byEntity, writer, reader) {
  return byEntity[reader]?.in ?? byEntity[writer]?.out ?? null;
}

/** "0 rec/s", "12.5 rec/s", "3.4k rec/s". */
export function formatRate(value) {
  if (value === null || value === undefined) return "";
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k rec/s`;
  return `${value >= 100 ? Math.round(value) : Number(value.toFixed(1))} rec/s`;
}

/** Keeps the rates of one metrics message; true when a label would change (redraw then). */
export function setRates(pods) {
  const next = entityRates(pods);
  const labels = (byEntity) => JSON.stringify(Object.entries(byEntity).map(([e, r]) => [e, formatRate(r.in), formatRate(r.out)]));
  const changed = labels(next) !== labels(rates.byEntity);
  rates.byEntity = next;
  return changed;
}

/** The SVG text under an edge's topic name at (x, y), or "" before any rate is known. */
export function edgeRateSvg(writer, reader, x, y) {
  const text = formatRate(edgeRate(rates.byEntity, writer, reader));
  return text ? `<text class="edge-rate" x="${x}" y="${y}" fill="#2563eb" font-size="11">${text}</text>` : "";
}
