// The editor's state and its undo history: pure (no DOM), tested by tests/js/store.test.js.
// Every edit is local until Save; undo and redo walk snapshots (JSON) of the whole spec.

/** The state of one open editor; `saved` is the spec as the server last had it (JSON). */
export function createState() {
  return {
    spec: null, saved: "", version: null, undo: [], redo: [], selected: null, errors: [], phases: {},
    picked: new Set(), // multi-selected chips, "entity/partition", all of one entity
  };
}

/** Takes the server's `manifest` as the saved spec and the one being edited. */
export function adopt(state, manifest) {
  state.spec = manifest.spec;
  state.saved = JSON.stringify(manifest.spec);
  state.version = manifest.metadata.resourceVersion;
}

/** Whether the edited spec differs from the saved one. */
export function isDirty(state) {
  return JSON.stringify(state.spec) !== state.saved;
}

/** One undoable edit: `mutate(spec)` after a snapshot; the redo history is dropped. */
export function commit(state, mutate) {
  state.undo.push(JSON.stringify(state.spec));
  state.redo = [];
  mutate(state.spec);
  state.errors = [];
}

/** Undoes the last edit; false when there is none. */
export function undo(state) {
  return travel(state, state.undo, state.redo);
}

/** Redoes the last undone edit; false when there is none. */
export function redo(state) {
  return travel(state, state.redo, state.undo);
}

function travel(state, from, to) {
  if (!from.length) return false;
  to.push(JSON.stringify(state.spec));
  state.spec = JSON.parse(from.pop());
  state.errors = [];
  return true;
}

/** The saved pod of each partition, by "entity/partition" (chips moved since are marked). */
export function savedOwners(saved) {
  const owners = {};
  for (const e of JSON.parse(saved || '{"statefulEntities":[]}').statefulEntities) {
    for (const pod of e.pods) for (const p of pod.partitions) owners[`${e.name}/${p}`] = pod.name;
  }
  return owners;
}

/** The partition moves from the `saved` spec (JSON) to `spec`, in partition order per entity,
 * or null when there are none or anything else changed too (then the whole manifest is saved). */
export function onlyMoves(saved, spec) {
  const before = JSON.parse(saved);
  const withoutPartitions = (s) => JSON.stringify(s, (key, value) => (key === "partitions" ? undefined : value));
  if (withoutPartitions(before) !== withoutPartitions(spec)) return null;
  const moves = [];
  for (const [i, e] of spec.statefulEntities.entries()) {
    const owner = new Map(before.statefulEntities[i].pods.flatMap((pod) => pod.partitions.map((p) => [String(p), pod.name])));
    const after = e.pods.flatMap((pod) => pod.partitions.map((p) => [String(p), pod.name, p]));
    if (after.length !== owner.size || after.some(([p]) => !owner.has(p))) return null; // added or removed
    const moved = after.filter(([p, pod]) => owner.get(p) !== pod).sort((a, b) => Number(a[2]) - Number(b[2]));
    moves.push(...moved.map(([, pod, raw]) => ({ entity: e.name, partition: raw, to_pod: pod })));
  }
  return moves.length ? moves : null;
}
