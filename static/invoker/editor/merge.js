// A three-way merge of specs at field level (pure: tests/js/merge.test.js), for an editor whose
// deployment someone else saved while it had unsaved edits (issue 14 item 8). `base` is the spec
// both started from, `theirs` the one saved since, `mine` the edited one. Fields are compared as
// orchestrator/revisions.py's diff_specs compares them, so the paths read the same as the audit's:
// objects key by key, lists of named items (entities, pods) item by item by name, other lists
// (partitions) and scalars whole. A field changed on one side only takes that side's value; a
// field both changed, to different values, is a conflict (and keeps mine).

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** A list whose items are objects with distinct string names (an empty list is one too). */
function isNamedList(value) {
  if (!Array.isArray(value)) return false;
  const names = value.map((item) => (isObject(item) ? item.name : undefined));
  return names.every((n) => typeof n === "string") && new Set(names).size === names.length;
}

const child = (path, key) => (path ? `${path}.${key}` : key);

/**
 * Merges `theirs` into `mine` over `base`. Returns `{ merged, conflicts, theirs }`: the merged
 * spec, the paths both sides changed differently, and the paths only `theirs` changed (what a
 * merge brings in).
 */
export function merge3(base, theirs, mine) {
  const result = { conflicts: [], theirs: [] };
  result.merged = mergeValue(base, theirs, mine, "", result);
  return result;
}

function mergeValue(base, theirs, mine, path, out) {
  if (same(theirs, mine)) return mine;
  if (same(base, theirs)) return mine;
  if (same(base, mine)) {
    out.theirs.push(...changedPaths(base, theirs, path));
    return theirs;
  }
  if (theirs === undefined || mine === undefined) { // removed on one side, changed on the other
    out.conflicts.push(path);
    return mine;
  }
  const all = [base, theirs, mine];
  if (all.every((v) => v === undefined || isObject(v))) return mergeObjects(base, theirs, mine, path, out);
  if (all.every((v) => v === undefined || isNamedList(v))) {
    return mergeNamedLists(base || [], theirs, mine, path, out);
  }
  out.conflicts.push(path);
  return mine;
}

function mergeObjects(base = {}, theirs = {}, mine = {}, path, out) {
  const merged = {};
  for (const key of new Set([...Object.keys(mine), ...Object.keys(theirs), ...Object.keys(base)])) {
    const value = mergeValue(base[key], theirs[key], mine[key], child(path, key), out);
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/** Items matched by name: mine's order, then the items only theirs added, in their order. */
function mergeNamedLists(base, theirs, mine, path, out) {
  const byName = (list) => new Map(list.map((item) => [item.name, item]));
  const [b, t, m] = [byName(base), byName(theirs), byName(mine)];
  const names = [...m.keys(), ...[...t.keys()].filter((n) => !m.has(n) && !b.has(n))];
  for (const n of t.keys()) if (!names.includes(n) && !m.has(n) && b.has(n) && !same(b.get(n), t.get(n))) names.push(n);
  const merged = [];
  for (const name of names) {
    const value = mergeValue(b.get(name), t.get(name), m.get(name), `${path}[${name}]`, out);
    if (value !== undefined) merged.push(value);
  }
  return merged;
}

/** The paths of the fields that differ from `a` to `b`, as diff_specs names them. */
export function changedPaths(a, b, path = "") {
  if (same(a, b)) return [];
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) => changedPaths(a[key], b[key], child(path, key)));
  }
  if (isNamedList(a) && isNamedList(b)) {
    const [ma, mb] = [new Map(a.map((i) => [i.name, i])), new Map(b.map((i) => [i.name, i]))];
    const names = [...new Set([...ma.keys(), ...mb.keys()])];
    return names.flatMap((name) => changedPaths(ma.get(name), mb.get(name), `${path}[${name}]`));
  }
  return [path];
}
