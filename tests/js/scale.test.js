// Scaling and even rebalancing planned in the browser (static/invoker/editor/scale.js): the same
// cases as the server's planner gives (tests/topology/api/test_scale.py), so that a plan made on
// unsaved edits is the plan the server would make.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyScale, newPodNames, planEven, planScale, podsToRemove, scaleProblem, wantedPartitions,
} from "../../static/invoker/editor/scale.js";

const totals = (...owned) => ({ name: "totals", pods: owned.map((partitions, i) => ({ name: `totals-${i}`, partitions, resources: {} })) });
const moves = (plan) => plan.moves.map((m) => [m.partition, m.from_pod, m.to_pod]);

test("scaling out adds the pods and moves only what balance needs", () => {
  const plan = planScale(totals([0, 1, 2, 3, 4, 5]), 3);
  assert.deepEqual(plan.added, ["totals-1", "totals-2"]);
  assert.deepEqual(plan.removed, []);
  assert.deepEqual(moves(plan), [[2, "totals-0", "totals-1"], [3, "totals-0", "totals-1"], [4, "totals-0", "totals-2"], [5, "totals-0", "totals-2"]]);
  assert.deepEqual([...plan.assignment], [["totals-0", [0, 1]], ["totals-1", [2, 3]], ["totals-2", [4, 5]]]);
});

test("adding one pod to n balanced pods moves floor(P / (n + 1)) partitions", () => {
  const plan = planScale(totals([0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]), 5);
  assert.equal(plan.moves.length, Math.floor(12 / 5));
  assert.ok(plan.moves.every((m) => m.to_pod === "totals-4"));
});

test("scaling in removes the pods owning fewest (the last on a tie) and moves their partitions first", () => {
  const entity = totals([0, 1, 2], [3, 4], [5, 6], [7]);
  assert.deepEqual(podsToRemove(entity, 2), ["totals-3", "totals-2"]);
  const plan = planScale(entity, 2);
  assert.deepEqual(plan.removed, ["totals-3", "totals-2"]);
  const leaving = plan.moves.map((m) => ["totals-2", "totals-3"].includes(m.from_pod));
  assert.deepEqual(leaving, [...leaving].sort((a, b) => b - a), "the removed pods' moves come first");
  assert.deepEqual([...plan.assignment], [["totals-0", [0, 1, 2, 5]], ["totals-1", [3, 4, 6, 7]]]);
  assert.equal(plan.moves.length, 3); // exactly the removed pods' partitions: no other pod sheds any
});

test("a balanced entity scaled to its own size moves nothing", () => {
  assert.deepEqual(planScale(totals([0, 1], [2, 3], [4, 5]), 3).moves, []);
});

test("the declared partition count is assigned whole, the unowned ones from nobody", () => {
  const entity = { ...totals([0], []), inputPartitions: 4 };
  assert.deepEqual(wantedPartitions(entity), [0, 1, 2, 3]);
  const plan = planScale(entity, 2);
  assert.deepEqual(moves(plan), [[1, null, "totals-0"], [2, null, "totals-1"], [3, null, "totals-1"]]);
});

test("a bad pod count is named, with the bound", () => {
  assert.match(scaleProblem(totals([0, 1]), 0), /at least 1/);
  assert.match(scaleProblem(totals([0, 1]), 1.5), /whole number/);
  assert.match(scaleProblem(totals([0, 1]), 3), /at most 2/);
  assert.equal(scaleProblem(totals([0, 1]), 2), "");
  assert.throws(() => planScale(totals([0, 1]), 3), /at most 2/);
});

test("new pods take the first free names and the last pod's resources", () => {
  const entity = totals([0, 1, 2, 3]);
  entity.pods[0].name = "totals-1";
  entity.pods[0].resources = { limits: { cpu: "1" } };
  assert.deepEqual(newPodNames(entity, 2), ["totals-0", "totals-2"]);
  applyScale(entity, planScale(entity, 2));
  assert.deepEqual(entity.pods.map((p) => [p.name, p.partitions, p.resources]),
    [["totals-1", [0, 1], { limits: { cpu: "1" } }], ["totals-0", [2, 3], { limits: { cpu: "1" } }]]);
});

test("applying a scale-in removes the pods and keeps every partition owned once", () => {
  const entity = totals([0, 1], [2, 3], [4, 5]);
  applyScale(entity, planScale(entity, 2));
  assert.deepEqual(entity.pods.map((p) => [p.name, p.partitions]), [["totals-0", [0, 1, 4]], ["totals-1", [2, 3, 5]]]);
});

test("an even rebalance keeps what each share allows; a partition listed twice stays with the first pod", () => {
  const plan = planEven(new Map([["a", [0, 1, 2, 3]], ["b", [3]], ["c", []]]), [0, 1, 2, 3]);
  assert.deepEqual([...plan.assignment], [["a", [0, 1]], ["b", [2]], ["c", [3]]]);
  assert.deepEqual(plan.moves, [{ partition: 2, from_pod: "a", to_pod: "b" }, { partition: 3, from_pod: "a", to_pod: "c" }]);
});
