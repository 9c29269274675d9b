// The drawing's geometry (static/invoker/editor/geometry.js): positions, zoom, fit, hits, find.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  COLUMN_GAP, MARGIN, NODE_WIDTH, ROW_GAP, autoLayout, bounds, clampZoom, estimatedHeight, findEntity, fitZoom,
  hitNode, layoutText, minimapScale, parseLayout, placed, wirePath, zoomScroll,
} from "../../static/invoker/editor/geometry.js";

const entity = (name, pods = 1) => ({ name, pods: [...Array(pods).keys()].map((p) => ({ name: `${name}-${p}`, partitions: [p] })) });

test("auto-layout puts each column's nodes one below the other, columns a node and a gap apart", () => {
  const es = [entity("a"), entity("b"), entity("c")];
  const at = autoLayout(es, [0, 1, 1], [100, 50, 70]);
  assert.deepEqual(at.a, [MARGIN, MARGIN]);
  assert.deepEqual(at.b, [MARGIN + NODE_WIDTH + COLUMN_GAP, MARGIN]);
  assert.deepEqual(at.c, [MARGIN + NODE_WIDTH + COLUMN_GAP, MARGIN + 50 + ROW_GAP]);
});

test("a node's estimated height grows with its pods and wrapped chips", () => {
  const small = estimatedHeight(entity("a", 1));
  const big = estimatedHeight(entity("b", 20));
  assert.ok(big >= small + 19 * 30, [small, big]);
  const wide = { name: "w", pods: [{ name: "w-0", partitions: [...Array(13).keys()] }] };
  assert.equal(estimatedHeight(wide), small + 2 * 30);
});

test("the user's positions win over auto-layout's, entity by entity", () => {
  const es = [entity("a"), entity("b")];
  assert.deepEqual(placed(es, { b: [400, 300] }, { a: [16, 16], b: [352, 16] }), [[16, 16], [400, 300]]);
});

test("a layout annotation is read leniently: bad entries are left out, never an error", () => {
  assert.deepEqual(parseLayout('{"a": [10.4, 20], "b": "x", "c": [1], "d": [1, null]}'), { a: [10, 20] });
  assert.deepEqual(parseLayout("not json"), {});
  assert.deepEqual(parseLayout("[1, 2]"), {});
  assert.deepEqual(parseLayout(undefined), {});
});

test("the annotation's text keeps only existing entities, in entity order, and is empty without any", () => {
  const es = [entity("b"), entity("a")];
  assert.equal(layoutText({ a: [1, 2], gone: [3, 4], b: [5, 6] }, es), '{"b":[5,6],"a":[1,2]}');
  assert.equal(layoutText({ gone: [3, 4] }, es), "");
  assert.deepEqual(parseLayout(layoutText({ a: [1, 2] }, es)), { a: [1, 2] });
});

test("the world is the box around every node, plus a margin", () => {
  assert.deepEqual(bounds([{ x: 10, y: 10, w: 240, h: 100 }, { x: 500, y: 0, w: 240, h: 50 }]), { w: 740 + MARGIN, h: 110 + MARGIN });
});

test("fit zooms out to show the whole world, never in past 100%, never below the minimum", () => {
  assert.equal(fitZoom({ w: 2000, h: 500 }, { w: 1000, h: 800 }), 0.5);
  assert.equal(fitZoom({ w: 200, h: 100 }, { w: 1000, h: 800 }), 1);
  assert.equal(fitZoom({ w: 1e6, h: 100 }, { w: 1000, h: 800 }), clampZoom(0));
  assert.equal(clampZoom(50), 2);
});

test("zooming keeps the world point under the anchor in place", () => {
  const scroll = zoomScroll({ x: 100, y: 50 }, { x: 200, y: 100 }, 1, 2);
  // world point under the anchor: (100 + 200) / 1 = 300; after: 300 * 2 - 200 = 400
  assert.deepEqual(scroll, { x: 400, y: 200 });
  const back = zoomScroll(scroll, { x: 200, y: 100 }, 2, 1);
  assert.deepEqual(back, { x: 100, y: 50 });
});

test("hit-testing finds the topmost node under a point, and none outside every node", () => {
  const boxes = [{ x: 0, y: 0, w: 100, h: 100 }, { x: 50, y: 50, w: 100, h: 100 }];
  assert.equal(hitNode(boxes, { x: 60, y: 60 }), 1);
  assert.equal(hitNode(boxes, { x: 10, y: 10 }), 0);
  assert.equal(hitNode(boxes, { x: 500, y: 10 }), -1);
});

test("the minimap scale fits the world's longer side", () => {
  assert.equal(minimapScale({ w: 1800, h: 600 }, { w: 180, h: 120 }), 0.1);
  assert.equal(minimapScale({ w: 600, h: 2400 }, { w: 180, h: 120 }), 0.05);
});

test("find prefers an exact name, then a prefix, then any part, ignoring case", () => {
  const es = [entity("e10"), entity("e1"), entity("counter"), entity("xe1")];
  assert.equal(findEntity(es, "E1"), 1);
  assert.equal(findEntity(es, "cou"), 2);
  assert.equal(findEntity(es, "nte"), 2);
  assert.equal(findEntity(es, "zzz"), -1);
  assert.equal(findEntity(es, "  "), -1);
});

test("a wire curves from the port to the pointer", () => {
  assert.equal(wirePath({ x: 0, y: 10 }, { x: 100, y: 50 }), "M0,10 C50,10 50,50 100,50");
});
