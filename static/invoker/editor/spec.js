// Spec edits: pure functions on an InvokerDeployment spec (no DOM), so that Node's test runner
// can check them (tests/js/spec.test.js). Each mutates the spec it is given; the store snapshots
// the spec before, for undo.

/** Pod index of the "unassigned" pool: partitions of the declared count that no pod owns. */
export const POOL = -1;

/** `${base}-N` for the first N, from the entity count on, that names no entity or pod yet. */
export function uniqueName(entities, base) {
  const taken = new Set(entities.flatMap((e) => [e.name, ...e.pods.map((p) => p.name)]));
  let n = entities.length + 1;
  while (taken.has(`${base}-${n}`) || taken.has(`${base}-${n}-0`)) n += 1;
  return `${base}-${n}`;
}

/** A new entity called `name`: the served `defaults` (images, Kafka address: the spec's
 * declaration), its own topics, one pod owning partition 0. */
export function newEntity(name, defaults = {}) {
  return {
    ...defaults, name, inputTopic: `${name}-in`, outputTopic: `${name}-out`,
    pods: [{ name: `${name}-0`, partitions: [0], resources: {} }],
  };
}

/** Renames `entity`; its pods named after it and the topics generated from its name follow. */
export function rename(entities, entity, name) {
  const old = entity.name;
  entity.name = name;
  for (const pod of entity.pods) {
    if (pod.name.startsWith(`${old}-`)) pod.name = name + pod.name.slice(old.length);
  }
  // Generated topic names follow the entity, at both ends of its edges.
  const renamed = { [`${old}-in`]: `${name}-in`, [`${old}-out`]: `${name}-out` };
  for (const other of entities) {
    if (renamed[other.inputTopic]) other.inputTopic = renamed[other.inputTopic];
    if (renamed[other.outputTopic]) other.outputTopic = renamed[other.outputTopic];
  }
}

/** Draws an edge: `target` reads the topic `source` writes (named after `source` if it had none). */
export function connect(source, target) {
  if (!source.outputTopic) source.outputTopic = `${source.name}-out`;
  target.inputTopic = source.outputTopic;
}

/** The partitions of entity `e`'s declared input count that no pod owns (none when undeclared). */
export function unassigned(e) {
  if (!Number.isInteger(e.inputPartitions)) return [];
  const owned = new Set(e.pods.flatMap((pod) => pod.partitions.map(String)));
  return [...Array(e.inputPartitions).keys()].filter((p) => !owned.has(String(p)));
}

/** The chips (`{pod, partition}`, pod POOL for the pool) that a move to `toPod` changes. */
export function moving(chips, toPod) {
  return chips.filter((c) => Number(c.pod) !== toPod);
}

/** Moves `chips` of `entity` to pod `toPod` (POOL: to no pod), keeping each pod's list sorted. */
export function movePartitions(entity, chips, toPod) {
  const pods = entity.pods;
  for (const { pod, partition } of moving(chips, toPod)) {
    const from = pods[Number(pod)];
    if (from) from.partitions = from.partitions.filter((p) => String(p) !== String(partition));
    if (toPod !== POOL) pods[toPod].partitions = [...pods[toPod].partitions, Number(partition)].sort((a, b) => a - b);
  }
}

/** Adds an empty pod to `entity`, named `${entity}-N` for the first free N from its pod count. */
export function addPod(entity) {
  let n = entity.pods.length;
  while (entity.pods.some((p) => p.name === `${entity.name}-${n}`)) n += 1;
  entity.pods.push({ name: `${entity.name}-${n}`, partitions: [], resources: {} });
}

/** Sets the field at `path` ("spec.statefulEntities[0].pods[1].resources.limits.cpu") from the
 * text `raw` of its input: numbers for the keys in `integers` (the served declaration's integer
 * fields), lists split on commas or spaces, an empty optional field removed (and an empty
 * resources section with it). */
export function setPath(spec, path, raw, integers = new Set()) {
  const keys = path.replace(/^spec\./, "").split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "");
  const last = keys.pop();
  const parent = keys.reduce((o, k) => (o[k] ??= {}), spec);
  if (last === "name" && keys.length === 2 && keys[0] === "statefulEntities") return rename(spec.statefulEntities, parent, raw);
  if (keys.includes("resources")) {
    if (raw === "") delete parent[last]; else parent[last] = raw;
    const pod = keys.slice(0, -2).reduce((o, k) => o[k], spec);
    for (const [section, amounts] of Object.entries(pod.resources)) {
      if (!Object.keys(amounts).length) delete pod.resources[section];
    }
  } else if (last === "imagePullSecrets") {
    parent[last] = raw.split(/[\s,]+/).filter(Boolean).map((name) => ({ name }));
  } else if (last === "partitions") {
    parent[last] = raw.split(/[\s,]+/).filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  } else if (integers.has(last)) {
    if (raw === "") delete parent[last]; else parent[last] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
  } else {
    parent[last] = raw;
  }
}
