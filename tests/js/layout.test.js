// The graph's layout (static/invoker/editor/layout.js): columns by depth, edges by topic.
import assert from "node:assert/strict";
import { test } from "node:test";

import { edgeCurve, invalidEntities, layers, overlaps } from "../../static/invoker/editor/layout.js";

const entity = (name, inputTopic, outputTopic) => ({ name, inputTopic, outputTopic, pods: [] });

test("an edge runs from each writer of a topic to each reader, and readers sit a column further", () => {
  const { edges, depth } = layers([
    entity("sink", "counts", ""), entity("source", "lines", "words"),
    entity("lonely", "x", "y"), entity("counter", "words", "counts"),
  ]);
  assert.deepEqual(edges, [[1, 3, "words"], [3, 0, "counts"]]);
  assert.deepEqual(depth, [2, 0, 0, 1]);
});

test("a cycle neither loops forever nor pushes a column past the entity count", () => {
  const { edges, depth } = layers([entity("a", "t1", "t2"), entity("b", "t2", "t1")]);
  assert.equal(edges.length, 2);
  assert.ok(depth.every((d) => d < 2), depth);
});

test("an entity reading its own topic has no edge to itself", () => {
  assert.deepEqual(layers([entity("loop", "t", "t")]).edges, []);
});

test("field errors mark the entities they point into", () => {
  const errors = [{ path: "spec.statefulEntities[2].pods[0].name" }, { path: "" }, { path: "spec.version" }];
  assert.deepEqual([...invalidEntities(errors)], [2]);
});

test("an edge leaves the right side of one box and enters the left side of the other", () => {
  const curve = edgeCurve({ x: 0, y: 0, w: 100, h: 40 }, { x: 300, y: 100, w: 100, h: 60 });
  assert.equal(curve.d, "M100,20 C200,20 200,130 300,130");
  assert.deepEqual([curve.x, curve.y], [200, 75]);
});

test("a box is in view when it meets the rectangle, not when it only touches its edge", () => {
  const rect = { left: 0, top: 0, right: 100, bottom: 100 };
  assert.equal(overlaps({ x: 90, y: 90, w: 50, h: 50 }, rect), true);
  assert.equal(overlaps({ x: 100, y: 0, w: 50, h: 50 }, rect), false);
  assert.equal(overlaps({ x: -60, y: 0, w: 50, h: 50 }, rect), false);
});
