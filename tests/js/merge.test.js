// The three-way merge of a spec saved by someone else into unsaved edits (static/invoker/editor/merge.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { merge3 } from "../../static/invoker/editor/merge.js";

const base = () => ({
  version: "v1",
  imagePullPolicy: "IfNotPresent",
  statefulEntities: [
    { name: "splitter", inputTopic: "in", outputTopic: "words", pods: [{ name: "splitter-0", partitions: [0, 1] }] },
    { name: "totals", inputTopic: "words", outputTopic: "out", pods: [{ name: "totals-0", partitions: [0] }] },
  ],
});

const edited = (change) => {
  const spec = base();
  change(spec);
  return spec;
};

test("changes of different fields merge, and the merge names what theirs brought in", () => {
  const theirs = edited((s) => { s.statefulEntities[0].outputTopic = "tokens"; });
  const mine = edited((s) => { s.statefulEntities[1].pods[0].partitions = [0, 1]; s.version = "v2"; });
  const { merged, conflicts, theirs: brought } = merge3(base(), theirs, mine);
  assert.deepEqual(conflicts, []);
  assert.deepEqual(brought, ["statefulEntities[splitter].outputTopic"]);
  assert.equal(merged.statefulEntities[0].outputTopic, "tokens");
  assert.deepEqual(merged.statefulEntities[1].pods[0].partitions, [0, 1]);
  assert.equal(merged.version, "v2");
});

test("the same field changed to different values is a conflict, and mine is kept", () => {
  const theirs = edited((s) => { s.statefulEntities[0].outputTopic = "tokens"; });
  const mine = edited((s) => { s.statefulEntities[0].outputTopic = "terms"; s.version = "v2"; });
  const { merged, conflicts } = merge3(base(), theirs, mine);
  assert.deepEqual(conflicts, ["statefulEntities[splitter].outputTopic"]);
  assert.equal(merged.statefulEntities[0].outputTopic, "terms");
});

test("the same change on both sides is no conflict", () => {
  const change = (s) => { s.imagePullPolicy = "Always"; };
  const { merged, conflicts, theirs } = merge3(base(), edited(change), edited(change));
  assert.deepEqual([conflicts, theirs], [[], []]);
  assert.equal(merged.imagePullPolicy, "Always");
});

test("named items are matched by name: an entity added by each side keeps both, mine first", () => {
  const theirs = edited((s) => { s.statefulEntities.push({ name: "theirs", pods: [] }); });
  const mine = edited((s) => { s.statefulEntities.unshift({ name: "mine", pods: [] }); });
  const { merged, conflicts } = merge3(base(), theirs, mine);
  assert.deepEqual(conflicts, []);
  assert.deepEqual(merged.statefulEntities.map((e) => e.name), ["mine", "splitter", "totals", "theirs"]);
});

test("an item removed on one side and left alone on the other is removed", () => {
  const theirs = edited((s) => { s.statefulEntities.pop(); });
  const mine = edited((s) => { s.version = "v2"; });
  const { merged, conflicts, theirs: brought } = merge3(base(), theirs, mine);
  assert.deepEqual(conflicts, []);
  assert.deepEqual(brought, ["statefulEntities[totals]"]);
  assert.deepEqual(merged.statefulEntities.map((e) => e.name), ["splitter"]);
});

test("an item removed on one side and changed on the other is a conflict", () => {
  const theirs = edited((s) => { s.statefulEntities.pop(); });
  const mine = edited((s) => { s.statefulEntities[1].outputTopic = "sums"; });
  assert.deepEqual(merge3(base(), theirs, mine).conflicts, ["statefulEntities[totals]"]);
  const reverse = merge3(base(), mine, theirs);
  assert.deepEqual(reverse.conflicts, ["statefulEntities[totals]"]);
  assert.deepEqual(reverse.merged.statefulEntities.map((e) => e.name), ["splitter"]);
});

test("partition lists are compared whole: two different moves out of one pod conflict", () => {
  const theirs = edited((s) => { s.statefulEntities[0].pods[0].partitions = [0]; });
  const mine = edited((s) => { s.statefulEntities[0].pods[0].partitions = [1]; });
  assert.deepEqual(merge3(base(), theirs, mine).conflicts, ["statefulEntities[splitter].pods[splitter-0].partitions"]);
});

test("a field added by theirs and removed keys are carried over; nothing is shared with the inputs", () => {
  const theirs = edited((s) => { s.imagePullSecrets = ["regcred"]; delete s.imagePullPolicy; });
  const mine = edited((s) => { s.version = "v2"; });
  const { merged } = merge3(base(), theirs, mine);
  assert.deepEqual(merged.imagePullSecrets, ["regcred"]);
  assert.equal("imagePullPolicy" in merged, false);
  assert.equal(merged.version, "v2");
});
