"""The chart grants exactly what the orchestrator's code (orchestrator/reconciler/kube.py) needs, and
that is exactly the table of docs/orchestrator.md ("Least RBAC"): three sources, one truth.

What the code needs is read from its AST: each client call maps to a verb (a `list_*` call to
`list` and `watch`: kube.py lists only to feed its watch cache, which then watches with the same
call), and each server-side apply (a raw PATCH) needs `patch` and `create`, because the API server authorizes
an apply that creates the object, and its dry run, as `create` (test_install.py proves both the
need and the sufficiency against the real apiserver). On top of that, the orchestrator must hold
every permission the Roles it creates for the pods grant (read from convert's output), because
the API server refuses to let anyone grant what they do not hold.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from orchestrator import load_manifest_yaml, parse_deployment
from orchestrator.reconciler import convert, kube
from tests.chart.conftest import CHART, NAMESPACE, ROOT, by_kind, one

Rule = tuple[str, str, str]  # (API group, resource, verb)

#: How the kubernetes client names its calls: VERB_namespaced_RESOURCE[_status].
CLIENT_CALL = re.compile(r"^(list|read|get|create|patch|replace|delete)_namespaced_([a-z_]+?)(_status)?$")
CLIENT_VERBS = {"read": "get"}
#: A server-side apply is authorized as `patch`, or as `create` when it creates the object.
APPLY_VERBS = ("patch", "create")
CORE_RESOURCES = {
    "config_map": "configmaps",
    "pod": "pods",
    "pod_log": "pods/log",
    "deployment": "deployments",
    "service_account": "serviceaccounts",
    "role": "roles",
    "role_binding": "rolebindings",
}
RBAC_GROUP = "rbac.authorization.k8s.io"


def documented_rules() -> set[Rule]:
    text = (ROOT / "docs" / "orchestrator.md").read_text()
    section = text.split("## Least RBAC", 1)[1].split("\n## ", 1)[0]
    rules = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("API group", "") or set(cells[0]) <= {"-", " "}:
            continue
        group = cells[0].strip("`").strip('"')
        verbs = re.findall(r"`([a-z]+)`", cells[2])
        resources = re.findall(r"`([a-z/]+)`", cells[1])
        assert verbs, f"cannot read the RBAC row {line!r}"
        assert resources, f"cannot read the RBAC row {line!r}"
        rules |= {(group, r, v) for r in resources for v in verbs}
    assert rules, "no RBAC table found in docs/orchestrator.md"
    return rules


def granted_rules(role: dict[str, Any]) -> set[Rule]:
    rules = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, f"unexpected rule fields: {rule}"
        for field in rule.values():
            assert "*" not in field, f"wildcard in {rule}"
        rules |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return rules


def used_by_code() -> set[Rule]:
    """Every API call orchestrator/reconciler/kube.py makes, as (group, resource, verb), read from its AST."""
    tree = ast.parse((ROOT / "orchestrator" / "reconciler" / "kube.py").read_text())
    groups = {"core": "", "apps": "apps", "rbac": RBAC_GROUP}
    rules: set[Rule] = set()
    api_classes = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "client"
            and node.attr.endswith("Api")
        ):
            api_classes.add(node.attr)
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
            and node.value.attr in ("core", "apps", "custom", "api", "rbac")
        ):
            continue
        api, call = node.value.attr, node.attr
        if api == "api":
            assert call == "call_api", f"unexpected raw client call self.api.{call}"
            continue
        match = CLIENT_CALL.match(call)
        assert match, f"kube.py calls self.{api}.{call}, which this test cannot map to a verb"
        verb, resource, status = match.groups()
        verb = CLIENT_VERBS.get(verb, verb)
        verbs = (verb, "watch") if verb == "list" else (verb,)  # every list feeds the watch cache
        if api == "custom":
            assert resource == "custom_object"
            group, resource = kube.GROUP, kube.PLURAL
        else:
            group, resource = groups[api], CORE_RESOURCES[resource]
        rules |= {(group, resource + ("/status" if status else ""), v) for v in verbs}
    # Raw calls: server-side apply is a PATCH to the paths in KIND_PATHS and to the root object.
    # call_api(path, METHOD, ...), called directly or handed to self._call(write, call_api, path, METHOD).
    raw_methods = set()
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call):
            continue
        if isinstance(n.func, ast.Attribute) and n.func.attr == "call_api":
            raw_methods.add(ast.literal_eval(n.args[1]))
        for i, arg in enumerate(n.args):
            if isinstance(arg, ast.Attribute) and arg.attr == "call_api":
                raw_methods.add(ast.literal_eval(n.args[i + 2]))
    assert raw_methods == {"PATCH"}, raw_methods
    for path in kube.KIND_PATHS.values():
        match = re.fullmatch(r"/(?:api/v1|apis/([a-z0-9.]+)/v[0-9a-z]+)/namespaces/\{ns\}/([a-z]+)", path)
        assert match, path
        rules |= {(match.group(1) or "", match.group(2), verb) for verb in APPLY_VERBS}
    assert "{PLURAL}" in ast.get_source_segment(
        (ROOT / "orchestrator" / "reconciler" / "kube.py").read_text(),
        next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_apply_custom"),
    )
    rules |= {(kube.GROUP, kube.PLURAL, verb) for verb in APPLY_VERBS}
    # The status is replaced whole by a raw JSON patch of the root object's status subresource.
    assert "/{PLURAL}/{deployment}/status" in ast.get_source_segment(
        (ROOT / "orchestrator" / "reconciler" / "kube.py").read_text(),
        next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "write_status"),
    )
    rules.add((kube.GROUP, kube.PLURAL + "/status", "patch"))
    assert api_classes == {"CoreV1Api", "AppsV1Api", "CustomObjectsApi", "RbacAuthorizationV1Api"}, (
        api_classes
    )
    return rules


def granted_to_pods() -> set[Rule]:
    """What the Roles convert makes for the pods grant, without their resourceNames: the
    orchestrator must hold these to create them (RBAC escalation prevention)."""
    spec = parse_deployment(load_manifest_yaml((ROOT / "examples" / "word-count.yaml").read_text()))
    ctx = convert.ConvertContext(namespace=NAMESPACE, revision="r", state_url="redis://r:6379/0")
    roles = [m for m in convert.convert(spec, ctx) if m["kind"] == "Role"]
    assert roles, "convert makes no Role for the pods"
    return {
        (group, resource, verb)
        for role in roles
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def used_by_logs() -> set[Rule]:
    """The calls of the dashboard's log reader (orchestrator/reconciler/logs.py, ``KubeLogs``): it lists the
    deployment's pods and reads ``pods/log``, through ``self.core`` (CoreV1Api) only."""
    tree = ast.parse((ROOT / "orchestrator" / "reconciler" / "logs.py").read_text())
    rules: set[Rule] = set()
    calls = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and isinstance(node.value.value, ast.Name)
        and (node.value.value.id, node.value.attr) == ("self", "core")
    ]
    for call in calls:
        match = CLIENT_CALL.match(call)
        assert match, f"logs.py calls self.core.{call}, which this test cannot map to a verb"
        verb, resource, _ = match.groups()
        # A list here is a plain list (no watch), but kube.py watches pods anyway.
        rules.add(("", CORE_RESOURCES[resource], CLIENT_VERBS.get(verb, verb)))
    assert ("", "pods/log", "get") in rules, "logs.py no longer reads pods/log"
    return rules


def needed_rules() -> set[Rule]:
    return used_by_code() | used_by_logs() | granted_to_pods()


def test_the_docs_table_is_what_the_orchestrator_code_needs() -> None:
    needed, documented = needed_rules(), documented_rules()
    assert documented == needed, (
        "docs/orchestrator.md's Least RBAC table differs from what orchestrator/reconciler/kube.py needs: "
        f"missing {sorted(needed - documented)}, not needed {sorted(documented - needed)}"
    )


def test_the_code_uses_only_these_verbs() -> None:
    assert {verb for _, _, verb in used_by_code()} == {"list", "watch", "create", "patch", "delete"}


def test_the_namespaced_role_grants_exactly_what_the_code_needs(helm) -> None:
    docs = helm.template(None)
    assert not by_kind(docs, "ClusterRole")
    assert not by_kind(docs, "ClusterRoleBinding")
    role, binding = one(docs, "Role"), one(docs, "RoleBinding")
    assert granted_rules(role) == needed_rules()
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == NAMESPACE
    check_binding(docs, role, binding)


def test_a_managed_namespace_gets_the_role(helm) -> None:
    docs = helm.template(None, "orchestrator.namespace=pipelines")
    role, binding = one(docs, "Role"), one(docs, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "pipelines"
    assert binding["subjects"][0]["namespace"] == NAMESPACE


def test_cluster_wide_is_an_opt_in_with_the_same_rules(helm) -> None:
    docs = helm.template(CHART / "examples" / "cluster-wide-rbac.yaml")
    assert not by_kind(docs, "Role")
    assert not by_kind(docs, "RoleBinding")
    role, binding = one(docs, "ClusterRole"), one(docs, "ClusterRoleBinding")
    assert "namespace" not in role["metadata"]
    assert granted_rules(role) == needed_rules()
    check_binding(docs, role, binding)


def check_binding(docs: list[dict[str, Any]], role: dict[str, Any], binding: dict[str, Any]) -> None:
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role["kind"],
        "name": role["metadata"]["name"],
    }
    account = one(docs, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}
    ]
    # The reconciler runs the reconciles, the worker collects pods' metrics, the web process the
    # dry runs: all use that account.
    for suffix in ("-web", "-worker", "-reconciler"):
        pod = one(docs, "Deployment", suffix)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == account["metadata"]["name"]
        assert pod.get("automountServiceAccountToken", True) is True


@pytest.mark.parametrize("suffix", ["-beat"])
def test_processes_that_never_call_the_api_get_no_token(helm, suffix) -> None:
    docs = helm.template(None)
    assert (
        one(docs, "Deployment", suffix)["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    )
    assert one(docs, "Job", "-migrate")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
