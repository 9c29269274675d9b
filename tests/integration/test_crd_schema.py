"""The CRD generated from the spec's declaration (charts/invoker/crds, installed by the
``kube_cluster`` fixture) on the real kube-apiserver: it is accepted, a canonical manifest with
every declared field set is stored without a field pruned, the status the orchestrator writes
(revisions ``null`` before the first one) is kept, and a type the declaration refuses is refused."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from orchestrator import parse_deployment, to_manifest
from orchestrator.spec.crd_schema import GROUP, PLURAL, VERSION
from tests.unit.spec_helpers import example_manifest


@pytest.fixture
def cluster(kube_cluster) -> Iterator[tuple[client.CustomObjectsApi, str]]:
    api = config.new_client_from_config(config_file=kube_cluster.kubeconfig)
    namespace = f"crd-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    try:
        yield client.CustomObjectsApi(api), namespace
    finally:
        client.CoreV1Api(api).delete_namespace(namespace)


def _full_manifest() -> dict[str, Any]:
    """The example with every optional field the declaration has set, as the canonical form."""
    manifest = example_manifest()
    manifest["spec"]["imagePullSecrets"] = [{"name": "registry"}]
    pod = manifest["spec"]["statefulEntities"][0]["pods"][0]
    pod["resources"] = {
        "requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": 1, "memory": "128Mi"},
    }
    return to_manifest(parse_deployment(manifest))


def test_a_canonical_manifest_and_its_status_are_stored_whole(cluster) -> None:
    custom, namespace = cluster
    manifest = _full_manifest()
    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, copy.deepcopy(manifest)
    )
    assert created["spec"] == manifest["spec"]
    status = {
        "state": "Pending",
        "currentRevision": None,
        "nextRevision": "demo-0123456789",
        "components": {"a": 1},
    }
    # A whole-object write, where a null is a value (in a merge patch it would delete the key).
    patched = custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, manifest["metadata"]["name"], {**created, "status": status}
    )
    assert patched["status"] == status
    assert parse_deployment(patched) == parse_deployment(manifest)


def test_a_type_the_declaration_refuses_is_refused_by_the_api_server(cluster) -> None:
    custom, namespace = cluster
    manifest = _full_manifest()
    manifest["spec"]["historyLimit"] = "three"
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    assert refused.value.status == 422
    assert "spec.historyLimit" in refused.value.body
