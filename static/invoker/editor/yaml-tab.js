// The YAML tab: the spec as YAML including unsaved edits, and Import (through the API, which
// replaces the saved spec). What the user types there is not lost on a tab switch unasked.
import { api } from "../common.js";
import { toYaml } from "../yaml.js";
import { layoutAnnotations, load, manifest, render } from "./core.js";
import { showFieldErrors } from "./panel.js";
import { $, NAME, message, state } from "./page.js";

// The text last put in the YAML box: anything else there was typed by the user.
let yamlShown = "";
export const yamlEdited = () => !$("#yaml-view").hidden && $("#yaml").value !== yamlShown;
function showYaml() {
  yamlShown = toYaml(manifestForYaml());
  $("#yaml").value = yamlShown;
}

function manifestForYaml() {
  const m = manifest();
  return { ...m, metadata: { name: NAME, ...layoutAnnotations() } }; // node positions go with it
}

/** After a render: the YAML box follows the edits while it shows and nothing was typed in it. */
export function refreshYaml() {
  if (!$("#yaml-view").hidden && !yamlEdited()) showYaml();
}

function showTab(yaml) {
  if (!yaml && yamlEdited() && !confirm("Discard the edits typed in the YAML box? They have not been imported.")) return;
  if (yaml && $("#yaml-view").hidden) showYaml();
  $("#yaml-view").hidden = !yaml;
  $("#graph-view").hidden = yaml;
  $("#tab-yaml").setAttribute("aria-pressed", String(yaml));
  $("#tab-graph").setAttribute("aria-pressed", String(!yaml));
  render();
}
$("#tab-graph").addEventListener("click", () => showTab(false));
$("#tab-yaml").addEventListener("click", () => showTab(true));
$("#yaml-apply").addEventListener("click", async () => {
  try {
    await api("POST", "/api/deployments/import/", $("#yaml").value, { contentType: "application/yaml", ifMatch: `"${state.version}"` });
    await load();
    showYaml(); // the imported spec, as the server now has it
    message("YAML imported and saved; reconcile requested.", "ok");
  } catch (error) {
    state.errors = error.fields.length ? error.fields : [{ path: "", message: error.message }];
    showFieldErrors();
    message(`Import refused: ${error.message}`, "error");
  }
});
