// The graph's layout: pure (no DOM), tested by tests/js/layout.test.js. Entities are nodes in
// columns by depth; an edge runs from an entity to each entity reading the topic it writes.

/** The edges `[from, to, topic]` between entity indexes and each entity's column (its depth). */
export function layers(entities) {
  const byInput = new Map();
  entities.forEach((e, i) => { if (e.inputTopic) byInput.set(e.inputTopic, [...(byInput.get(e.inputTopic) || []), i]); });
  const edges = [];
  entities.forEach((e, i) => {
    for (const j of (e.outputTopic && byInput.get(e.outputTopic)) || []) if (j !== i) edges.push([i, j, e.outputTopic]);
  });
  const depth = entities.map(() => 0);
  for (let round = 0; round < entities.length; round += 1) {
    let moved = false;
    for (const [i, j] of edges) if (depth[j] < depth[i] + 1 && depth[i] + 1 < entities.length) { depth[j] = depth[i] + 1; moved = true; }
    if (!moved) break;
  }
  return { edges, depth };
}

/** The indexes of the entities that the server's field errors point into. */
export function invalidEntities(errors) {
  const invalid = new Set();
  for (const f of errors) {
    const m = /statefulEntities\[(\d+)\]/.exec(f.path || "");
    if (m) invalid.add(Number(m[1]));
  }
  return invalid;
}

/** The curve from box `a`'s right side to box `b`'s left side ({x, y, w, h}), and its middle. */
export function edgeCurve(a, b) {
  const x1 = a.x + a.w; const y1 = a.y + a.h / 2; const x2 = b.x; const y2 = b.y + b.h / 2;
  const mid = (x1 + x2) / 2;
  return { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, x: mid, y: (y1 + y2) / 2 };
}

/** Whether box `{x, y, w, h}` meets the rectangle `{left, top, right, bottom}`. */
export function overlaps(box, rect) {
  return box.x < rect.right && box.x + box.w > rect.left && box.y < rect.bottom && box.y + box.h > rect.top;
}
