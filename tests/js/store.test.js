// The editor's state, undo and redo, and what Save sends (static/invoker/editor/store.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { adopt, commit, createState, isDirty, onlyMoves, redo, savedOwners, undo } from "../../static/invoker/editor/store.js";

const manifest = () => ({
  metadata: { resourceVersion: "7" },
  spec: {
    version: "v1",
    statefulEntities: [{ name: "s", pods: [{ name: "s-0", partitions: [0, 1] }, { name: "s-1", partitions: [2] }] }],
  },
});

const loaded = () => {
  const state = createState();
  adopt(state, manifest());
  return state;
};

test("an edit is undone and redone, and a new edit drops the redo history", () => {
  const state = loaded();
  assert.equal(isDirty(state), false);
  commit(state, (spec) => { spec.version = "v2"; });
  commit(state, (spec) => { spec.version = "v3"; });
  assert.equal(isDirty(state), true);
  assert.equal(undo(state), true);
  assert.equal(state.spec.version, "v2");
  assert.equal(redo(state), true);
  assert.equal(state.spec.version, "v3");
  undo(state); undo(state);
  assert.equal(isDirty(state), false);
  assert.equal(undo(state), false); // nothing left
  commit(state, (spec) => { spec.version = "v9"; });
  assert.equal(redo(state), false);
});

test("an edit clears the server's field errors", () => {
  const state = loaded();
  state.errors = [{ path: "spec.version", message: "bad" }];
  commit(state, (spec) => { spec.version = "v2"; });
  assert.deepEqual(state.errors, []);
});

test("moves alone are saved as moves, in partition order", () => {
  const state = loaded();
  commit(state, (spec) => {
    spec.statefulEntities[0].pods[0].partitions = [1];
    spec.statefulEntities[0].pods[1].partitions = [0, 2];
  });
  assert.deepEqual(onlyMoves(state.saved, state.spec), [{ entity: "s", partition: 0, to_pod: "s-1" }]);
});

test("anything besides moves is saved as the whole manifest", () => {
  const state = loaded();
  assert.equal(onlyMoves(state.saved, state.spec), null); // nothing at all
  commit(state, (spec) => { spec.statefulEntities[0].pods[1].partitions = [2, 3]; });
  assert.equal(onlyMoves(state.saved, state.spec), null); // a partition added
  undo(state);
  commit(state, (spec) => {
    spec.version = "v2";
    spec.statefulEntities[0].pods[0].partitions = [1];
    spec.statefulEntities[0].pods[1].partitions = [0, 2];
  });
  assert.equal(onlyMoves(state.saved, state.spec), null); // a move and another change
});

test("the saved owner of each partition marks the chips moved since", () => {
  assert.deepEqual(savedOwners(loaded().saved), { "s/0": "s-0", "s/1": "s-0", "s/2": "s-1" });
  assert.deepEqual(savedOwners(""), {});
});
