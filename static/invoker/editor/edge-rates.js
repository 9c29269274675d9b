// Records/s on the editor's edges and a lag badge on each entity (issue 18 item 3), from the
// metrics message the page already receives over its websocket (no request of its own). An edge carries entity i's output topic to
// entity j; its rate is what j's pods consume per second (the collector's `recordsInPerSec`,
// summed over j's pods), else what i's pods write (`recordsOutPerSec`) while j reports nothing.
// An entity's badge is the lag its pods report (their gauges: the broker's last stable offset
// minus their position, summed over the input partitions); the topics page has the broker's own
// numbers (docs/topics.md). Pure but for the kept values; graph.js draws `edgeRateSvg` under each
// edge's topic name and `lagBadgeHtml` in each node.

/** The kept values of the last metrics message: rates {entity: {in, out}}, lags {entity: n}. */
export const rates = { byEntity: {}, lags: {} };

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

/** Each entity's lag summed over its input partitions, from a message's `lag` ({entity: {partition: n}}). */
export function entityLags(lag) {
  const sums = {};
  for (const [entity, partitions] of Object.entries(lag || {})) {
    sums[entity] = Object.values(partitions || {}).reduce((sum, n) => sum + (Number(n) || 0), 0);
  }
  return sums;
}

/** "12", "3.4k", "2.1M". */
export function formatCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** An entity node's lag badge, or "" before a message brought its lag. */
export function lagBadgeHtml(entity) {
  const n = rates.lags[entity];
  if (n === undefined) return "";
  const title = "records its pods have yet to read (their lag gauges; the Topics page has the broker's)";
  return ` <span class="lag-badge" data-lag="${Math.round(n)}" title="${title}">lag ${formatCount(n)}</span>`;
}

/** Keeps a message's lags and updates the badges of the nodes drawn under `root` in place. */
export function paintLagBadges(root, lag) {
  rates.lags = entityLags(lag);
  for (const node of root.querySelectorAll("#nodes .entity[data-name]")) {
    const badge = node.querySelector(".lag-badge");
    const n = rates.lags[node.dataset.name];
    if (badge && badge.dataset.lag === String(Math.round(n))) continue;
    badge?.remove();
    node.querySelector(".topics")?.insertAdjacentHTML("beforeend", lagBadgeHtml(node.dataset.name));
  }
}
