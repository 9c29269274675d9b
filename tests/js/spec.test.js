// The editor's spec edits (static/invoker/editor/spec.js), with Node's built-in test runner.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  POOL, addPod, connect, movePartitions, newEntity, rename, setPath, unassigned, uniqueName,
} from "../../static/invoker/editor/spec.js";

const spec = () => ({
  statefulEntities: [
    { name: "splitter", inputTopic: "lines", outputTopic: "splitter-out",
      pods: [{ name: "splitter-0", partitions: [0, 2] }, { name: "splitter-1", partitions: [1] }] },
    { name: "counter", inputTopic: "splitter-out", outputTopic: "counter-out",
      pods: [{ name: "counter-0", partitions: [0], resources: { limits: { cpu: "1" } } }] },
  ],
});

test("a new entity gets the first name no entity or pod has", () => {
  const s = spec();
  s.statefulEntities.push(newEntity("entity-3", { ioAddress: "kafka:9092" }));
  assert.equal(s.statefulEntities[2].ioAddress, "kafka:9092"); // the served defaults
  assert.deepEqual(s.statefulEntities[2].pods, [{ name: "entity-3-0", partitions: [0], resources: {} }]);
  assert.equal(uniqueName(s.statefulEntities, "entity"), "entity-4");
  assert.equal(uniqueName(spec().statefulEntities, "entity"), "entity-3");
});

test("renaming an entity renames its pods and the topics named after it, at both ends", () => {
  const s = spec();
  rename(s.statefulEntities, s.statefulEntities[0], "words");
  assert.deepEqual(s.statefulEntities[0].pods.map((p) => p.name), ["words-0", "words-1"]);
  assert.equal(s.statefulEntities[0].outputTopic, "words-out");
  assert.equal(s.statefulEntities[1].inputTopic, "words-out");
  assert.equal(s.statefulEntities[0].inputTopic, "lines"); // not generated from the name: kept
});

test("connecting makes the target read the source's topic", () => {
  const source = { name: "a", pods: [] };
  const target = { name: "b", inputTopic: "x", pods: [] };
  connect(source, target);
  assert.equal(source.outputTopic, "a-out");
  assert.equal(target.inputTopic, "a-out");
});

test("the unassigned pool holds the declared partitions that no pod owns", () => {
  const e = spec().statefulEntities[0];
  assert.deepEqual(unassigned(e), []); // no declared count: no pool
  e.inputPartitions = 5;
  assert.deepEqual(unassigned(e), [3, 4]);
});

test("moving chips keeps each pod's partitions sorted, and the pool takes chips from any pod", () => {
  const e = spec().statefulEntities[0];
  movePartitions(e, [{ pod: "0", partition: "0" }], 1);
  assert.deepEqual(e.pods.map((p) => p.partitions), [[2], [0, 1]]);
  movePartitions(e, [{ pod: "1", partition: "1" }, { pod: "0", partition: "2" }], POOL);
  assert.deepEqual(e.pods.map((p) => p.partitions), [[], [0]]);
  movePartitions(e, [{ pod: POOL, partition: "1" }], 0);
  assert.deepEqual(e.pods.map((p) => p.partitions), [[1], [0]]);
});

test("a new pod takes the first free name from the pod count", () => {
  const e = spec().statefulEntities[0];
  e.pods.push({ name: "splitter-2", partitions: [] });
  addPod(e);
  assert.deepEqual(e.pods.map((p) => p.name), ["splitter-0", "splitter-1", "splitter-2", "splitter-3"]);
});

test("a field's text becomes the value the API takes", () => {
  const s = spec();
  setPath(s, "spec.statefulEntities[0].pods[1].partitions", "4, 5 x");
  assert.deepEqual(s.statefulEntities[0].pods[1].partitions, [4, 5, "x"]); // "x": the server says why
  const integers = new Set(["inputPartitions"]); // as the served declaration says
  setPath(s, "spec.statefulEntities[0].inputPartitions", "8");
  assert.equal(s.statefulEntities[0].inputPartitions, "8"); // not declared an integer: the text
  setPath(s, "spec.statefulEntities[0].inputPartitions", "8", integers);
  assert.equal(s.statefulEntities[0].inputPartitions, 8);
  setPath(s, "spec.statefulEntities[0].inputPartitions", "", integers);
  assert.equal("inputPartitions" in s.statefulEntities[0], false);
  setPath(s, "spec.imagePullSecrets", "a, b");
  assert.deepEqual(s.imagePullSecrets, [{ name: "a" }, { name: "b" }]);
  setPath(s, "spec.statefulEntities[1].pods[0].resources.limits.cpu", "");
  assert.deepEqual(s.statefulEntities[1].pods[0].resources, {}); // the emptied section goes too
  setPath(s, "spec.statefulEntities[0].name", "words");
  assert.equal(s.statefulEntities[1].inputTopic, "words-out");
});
