// Records/s on the editor's edges (static/invoker/editor/edge-rates.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  edgeRate, edgeRateSvg, entityLags, entityRates, formatCount, formatRate, lagBadgeHtml, rates, setRates,
} from "../../static/invoker/editor/edge-rates.js";

const pods = [
  { name: "split-0", entity: "split", recordsInPerSec: 10, recordsOutPerSec: 40 },
  { name: "split-1", entity: "split", recordsInPerSec: 5.5, recordsOutPerSec: 22 },
  { name: "sum-0", entity: "sum", recordsInPerSec: 61 },
  { name: "sink-0", entity: "sink" }, // not scraped yet: no rate
];

test("an entity's rates are summed over its pods, and unknown where no pod reported one", () => {
  assert.deepEqual(entityRates(pods), {
    split: { in: 15.5, out: 62 }, sum: { in: 61, out: null }, sink: { in: null, out: null },
  });
});

test("an edge's rate is what its reader consumes, else what its writer writes", () => {
  const byEntity = entityRates(pods);
  assert.equal(edgeRate(byEntity, "split", "sum"), 61);
  assert.equal(edgeRate(byEntity, "split", "sink"), 62);
  assert.equal(edgeRate(byEntity, "sink", "nobody"), null);
});

test("rates read as records per second, short", () => {
  assert.deepEqual([0, 0.25, 12.5, 150.4, 3400, null].map(formatRate),
    ["0 rec/s", "0.3 rec/s", "12.5 rec/s", "150 rec/s", "3.4k rec/s", ""]);
});

test("an edge gets its rate label once a message brought one, and a new rate asks for a redraw", () => {
  rates.byEntity = {};
  assert.equal(edgeRateSvg("split", "sum", 10, 20), "");
  assert.equal(setRates(pods), true);
  assert.equal(edgeRateSvg("split", "sum", 10, 20), '<text class="edge-rate" x="10" y="20" fill="#2563eb" font-size="11">61 rec/s</text>');
  assert.equal(setRates(pods), false);
  assert.equal(setRates([{ entity: "sum", recordsInPerSec: 70 }]), true);
});

test("an entity's lag is summed over its partitions, and its badge appears once a message brought it", () => {
  assert.deepEqual(entityLags({ split: { 0: 10, 1: 2.4 }, sum: {} }), { split: 12.4, sum: 0 });
  assert.deepEqual([0, 12.4, 9999, 34000, 2100000].map(formatCount), ["0", "12", "9999", "34.0k", "2.1M"]);
  rates.lags = {};
  assert.equal(lagBadgeHtml("split"), "");
  rates.lags = entityLags({ split: { 0: 10, 1: 2.4 } });
  assert.match(lagBadgeHtml("split"), /^ <span class="lag-badge" data-lag="12" title="[^"]+">lag 12<\/span>$/);
});
