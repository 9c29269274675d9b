// Health with reasons on the page: the status bar's summary (pods per phase and the top reasons,
// never every pod: at 300 pods a list is a wall of text) and the editor's colours of pods and
// entities. The data is the status's `components` (orchestrator/reconciler/health.py): `podPhases`,
// `topReasons`, `deadLetters`, as the reconcile wrote them and as the collector refreshes them.

/** Worst first, as orchestrator/reconciler/health.py orders them. */
export const PHASES = ["Failed", "CrashLoop", "Pending", "Unknown", "Running"];

function text(value) {
  return String(value ?? "");
}

/** "2 CrashLoop · 1 Running" as elements, each marked with its phase for its colour. */
function phaseNodes(counts) {
  const phases = Object.keys(counts || {}).sort((a, b) => rank(a) - rank(b));
  return phases.map((phase) => {
    const node = document.createElement("span");
    node.className = "health-count";
    node.dataset.phase = phase;
    node.textContent = `${counts[phase]} ${phase}`;
    return node;
  });
}

function rank(phase) {
  const i = PHASES.indexOf(phase);
  return i < 0 ? PHASES.length : i;
}

/** "CrashLoopBackOff: container io exited with code 1: … (2 pods)". */
export function describeReason(r) {
  const what = [r.reason, r.message].filter(Boolean).join(": ");
  return `${what} (${r.pods} pod${r.pods === 1 ? "" : "s"})`;
}

/** Fills `[data-health=phases|reasons|deadLetters]` under `root` from a status's components. */
export function renderHealth(root, components) {
  if (!components) return;
  const phases = root.querySelector('[data-health="phases"]');
  if (phases && components.podPhases) {
    const nodes = phaseNodes(components.podPhases);
    phases.replaceChildren(...nodes.flatMap((node, i) => (i ? [" · ", node] : [node])));
    if (!nodes.length) phases.textContent = "none";
  }
  const reasons = root.querySelector('[data-health="reasons"]');
  if (reasons && components.topReasons) {
    const lines = components.topReasons.map(describeReason);
    reasons.textContent = lines.join(" · ");
    reasons.title = lines.join("\n");
  }
  const dead = root.querySelector('[data-health="deadLetters"]');
  if (dead && components.deadLetters) {
    const entries = Object.entries(components.deadLetters).filter(([, n]) => n > 0);
    dead.textContent = entries.map(([entity, n]) => `${entity} ${Math.round(n)}`).join(" · ") || "0";
    dead.dataset.count = String(entries.reduce((sum, [, n]) => sum + n, 0));
  }
}

/** Each entity's worst pod phase, from the collector's pods. */
export function entityPhases(pods) {
  const worst = {};
  for (const pod of pods || []) {
    const known = worst[pod.entity];
    if (known === undefined || rank(pod.phase) < rank(known)) worst[pod.entity] = pod.phase;
  }
  return worst;
}

/** Colours the editor's pods (`.pod[data-name]`) and entities (`.entity[data-name]`) by health;
 * a pod's reason becomes its tooltip. Returns the phases by pod name, for re-renders. */
export function paintHealth(root, pods) {
  const phases = {};
  for (const pod of pods || []) {
    phases[pod.name] = pod.phase;
    const li = root.querySelector(`.pod[data-name="${CSS.escape(text(pod.name))}"]`);
    if (!li) continue;
    li.dataset.phase = pod.phase;
    const why = [pod.reason, pod.message].filter(Boolean).join(": ");
    li.title = why ? `${pod.phase} · ${why} · ${pod.restarts || 0} restarts` : `${pod.phase}`;
  }
  for (const [entity, phase] of Object.entries(entityPhases(pods))) {
    const node = root.querySelector(`.entity[data-name="${CSS.escape(text(entity))}"]`);
    if (node) node.dataset.health = phase;
  }
  return phases;
}
