// The canary panel's pure parts (static/invoker/canary.js): which pods run a canary, and each
// side's figures from a collector payload.
import assert from "node:assert/strict";
import { test } from "node:test";

import { canaries, figures } from "../../static/invoker/canary.js";

const spec = {
  statefulEntities: [
    {
      name: "s", executorImage: "u:1",
      pods: [
        { name: "s-0", partitions: [0, 1] },
        { name: "s-1", partitions: [2], executorImage: "u:2" },
        { name: "s-2", partitions: [3], executorImage: "u:1" },
      ],
    },
    { name: "t", executorImage: "v:1", pods: [{ name: "t-0", partitions: [0] }] },
  ],
};

test("a canary is the pods whose own image differs from their entity's", () => {
  const [found, ...rest] = canaries(spec);
  assert.deepEqual(rest, []);
  assert.equal(found.entity, "s");
  assert.equal(found.image, "u:2");
  assert.deepEqual(found.canary.map((p) => p.name), ["s-1"]);
  assert.deepEqual(found.stable.map((p) => p.name), ["s-0", "s-2"]);
});

test("each side's figures: per-pod rates, latency over every call, the lag of its partitions", () => {
  const payload = {
    pods: [
      { name: "s-0", entity: "s", recordsInPerSec: 10, deadLettersPerSec: 0, udfCallsPerSec: 4, udfSecondsPerSec: 0.02 },
      { name: "s-2", entity: "s", recordsInPerSec: 30, deadLettersPerSec: 1, udfCallsPerSec: 1, udfSecondsPerSec: 0.03 },
      { name: "t-0", entity: "t", recordsInPerSec: 99 },
    ],
    lag: { s: { 0: 5, 1: 6, 2: 100, 3: 7 } },
  };
  const [found] = canaries(spec);
  const stable = figures(found.stable, payload, "s");
  assert.equal(stable.records, 20);
  assert.equal(stable.deadLetters, 0.5);
  assert.equal(stable.latencyMs, 10);
  assert.equal(stable.lag, 18);
  const canary = figures(found.canary, payload, "s");
  assert.deepEqual([canary.records, canary.latencyMs, canary.lag, canary.reporting], [null, null, 100, 0]);
});
