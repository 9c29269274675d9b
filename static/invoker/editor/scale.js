// Scaling an entity to N pods and rebalancing it evenly, planned in the browser on the spec being
// edited (unsaved edits included). Pure (no DOM), tested by tests/js/scale.test.js against the
// same cases as the server's planner (orchestrator/planning/rebalance.py and
// topology_editor/services/scale.py): the same input gives the same moves on both sides.

/** The partitions an entity's pods are to own: its declared count, else those owned now. */
export function wantedPartitions(entity) {
  if (Number.isInteger(entity.inputPartitions) && entity.inputPartitions > 0) return [...Array(entity.inputPartitions).keys()];
  return [...new Set(entity.pods.flatMap((pod) => pod.partitions.map(Number)))].sort((a, b) => a - b);
}

/** An even split of `partitions` over the pods of `assignment` (a Map pod -> partitions, in pod
 * order) less `removed`, keeping as many of each pod's partitions as its share allows: the fewest
 * moves. `{moves: [{partition, from_pod, to_pod}], assignment: Map}` (moves in partition order). */
export function planEven(assignment, partitions, removed = new Set()) {
  const pods = [...assignment.keys()].filter((pod) => !removed.has(pod));
  const wanted = [...new Set(partitions.map(Number))].sort((a, b) => a - b);
  if (wanted.length && !pods.length) throw new Error(`${wanted.length} partitions need at least one pod to own them`);
  const wantedSet = new Set(wanted);
  const claimed = new Set();
  const held = new Map();
  for (const pod of pods) {
    const mine = [...new Set(assignment.get(pod).map(Number))].filter((p) => wantedSet.has(p) && !claimed.has(p)).sort((a, b) => a - b);
    mine.forEach((p) => claimed.add(p));
    held.set(pod, mine);
  }
  const base = pods.length ? Math.floor(wanted.length / pods.length) : 0;
  const extra = pods.length ? wanted.length % pods.length : 0;
  // The one-larger shares go to the pods holding most (a stable sort: ties in pod order).
  const larger = new Set([...pods].sort((a, b) => held.get(b).length - held.get(a).length).slice(0, extra));
  const share = (pod) => base + (larger.has(pod) ? 1 : 0);
  const kept = new Map(pods.map((pod) => [pod, held.get(pod).slice(0, share(pod))]));
  const staying = new Set([...kept.values()].flat());
  const free = wanted.filter((p) => !staying.has(p));
  const owners = new Map();
  for (const [pod, owned] of assignment) for (const p of owned) if (!owners.has(Number(p))) owners.set(Number(p), pod);
  const moves = [];
  for (const pod of pods) {
    const list = kept.get(pod);
    while (list.length < share(pod)) {
      const partition = free.shift();
      moves.push({ partition, from_pod: owners.get(partition) ?? null, to_pod: pod });
      list.push(partition);
    }
    list.sort((a, b) => a - b);
  }
  moves.sort((a, b) => a.partition - b.partition);
  return { moves, assignment: kept };
}

/** The names of `count` new pods of `entity`: `${entity}-k` for the first free k from 0. */
export function newPodNames(entity, count) {
  const taken = new Set(entity.pods.map((pod) => pod.name));
  const names = [];
  for (let k = 0; names.length < count; k += 1) {
    if (!taken.has(`${entity.name}-${k}`)) { names.push(`${entity.name}-${k}`); taken.add(`${entity.name}-${k}`); }
  }
  return names;
}

/** The pods a scale-in to `pods` removes: those owning the fewest partitions (the fewest moves),
 * the last one first on a tie. */
export function podsToRemove(entity, pods) {
  const order = entity.pods.map((pod, i) => ({ name: pod.name, owned: pod.partitions.length, i }));
  order.sort((a, b) => a.owned - b.owned || b.i - a.i);
  return order.slice(0, Math.max(0, entity.pods.length - pods)).map((pod) => pod.name);
}

/** Why `pods` is not a pod count `entity` can be scaled to, or "" when it is. */
export function scaleProblem(entity, pods) {
  const partitions = wantedPartitions(entity).length;
  if (!Number.isInteger(pods) || pods < 1) return "pods must be a whole number of at least 1";
  if (pods > Math.max(1, partitions)) return `pods must be at most ${Math.max(1, partitions)}: ${entity.name} has ${partitions} partition(s), a pod more would own none`;
  return "";
}

/** The plan of scaling `entity` to `pods` pods: the pods added and removed, and the fewest moves
 * that balance its partitions over the result, the removed pods' partitions first. */
export function planScale(entity, pods) {
  const problem = scaleProblem(entity, pods);
  if (problem) throw new Error(problem);
  const added = pods > entity.pods.length ? newPodNames(entity, pods - entity.pods.length) : [];
  const removed = podsToRemove(entity, pods);
  const assignment = new Map(entity.pods.map((pod) => [pod.name, pod.partitions]));
  for (const name of added) assignment.set(name, []);
  const leaving = new Set(removed);
  const plan = planEven(assignment, wantedPartitions(entity), leaving);
  plan.moves.sort((a, b) => Number(!leaving.has(a.from_pod)) - Number(!leaving.has(b.from_pod)) || a.partition - b.partition);
  return { entity: entity.name, pods_before: entity.pods.length, pods_after: pods, added, removed, ...plan };
}

/** Applies `plan` (planScale's) to `entity` in place: the new pods (with the last pod's
 * resources), the moves, the removed pods gone. */
export function applyScale(entity, plan) {
  const template = entity.pods.at(-1)?.resources ?? {};
  for (const name of plan.added) entity.pods.push({ name, partitions: [], resources: structuredClone(template) });
  entity.pods = entity.pods.filter((pod) => !plan.removed.includes(pod.name));
  for (const pod of entity.pods) pod.partitions = [...(plan.assignment.get(pod.name) ?? pod.partitions)];
}
