"""The chart offline: `helm lint --strict`, renders validated against the official Kubernetes
schemas, and the properties the issue asks for (processes, probes, environment, security).

Every render test runs for the default values and for each documented example in
charts/invoker/examples/.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.chart.conftest import (
    CHART,
    EXAMPLES,
    KUBE_VERSION,
    NAMESPACE,
    ROOT,
    SCHEMA_VERSION,
    VALUES_IDS,
    VALUES_SETS,
    by_kind,
    one,
    pod_specs,
)

MONITORING = "monitoring.coreos.com/v1"
APP_COMPONENTS = ("web", "worker", "reconciler", "beat", "migrate")


def app_containers(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Component → the one container of each of the app's workloads."""
    found = {}
    for doc in docs:
        component = doc["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        if doc["kind"] in ("Deployment", "Job") and component in APP_COMPONENTS:
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            found[component] = container
    return found


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container["env"]}


# --- lint and schemas ------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUES_SETS, ids=VALUES_IDS)
def test_helm_lint_strict_passes(helm, values) -> None:
    args = ["lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    if values:
        args += ["--values", str(values)]
    result = helm.run(*args)
    assert "0 chart(s) failed" in result.stdout


def check_monitoring_object(doc: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    """kubernetes-validate has no schema for the Prometheus Operator's CRDs, so these two kinds
    are checked here, field by field, against what the operator requires."""
    spec = doc["spec"]
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    assert doc["kind"] in ("ServiceMonitor", "PodMonitor")
    assert spec["selector"]["matchLabels"], "an empty selector would scrape everything"
    endpoints_key = "endpoints" if doc["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
    assert set(spec) <= {"selector", endpoints_key, "namespaceSelector"}
    for endpoint in spec[endpoints_key]:
        assert set(endpoint) <= {"port", "path", "interval"}
        assert re.fullmatch(r"[0-9]+(ms|s|m|h)", endpoint["interval"])
        assert endpoint["path"] == "/metrics"
    if doc["kind"] == "ServiceMonitor":
        # It must select the dashboard's Service, and name one of its ports.
        services = [
            s
            for s in by_kind(docs, "Service")
            if spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert len(services) == 1
        assert spec["endpoints"][0]["port"] in {p["name"] for p in services[0]["spec"]["ports"]}
    else:
        # Executor pods: the labels and port name the orchestrator gives them.
        from orchestrator.reconciler import convert

        assert spec["selector"]["matchLabels"] == {
            convert.LABEL_NAME: "invoker",
            convert.LABEL_MANAGED_BY: "invoker",
        }
        assert spec["podMetricsEndpoints"][0]["port"] == "metrics"
        # ... and never the chart's own pods, which are managed by Helm.
        for workload in docs:
            if workload["kind"] in ("Deployment", "Job"):
                labels = workload["spec"]["template"]["metadata"]["labels"]
                assert not spec["selector"]["matchLabels"].items() <= labels.items(), workload["metadata"]


@pytest.mark.parametrize("values", VALUES_SETS, ids=VALUES_IDS)
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(helm, values) -> None:
    docs = helm.template(values)
    checked = 0
    for doc in docs:
        if doc["apiVersion"] == MONITORING:
            # Strictness stays on for everything else; these kinds have no official schema, so
            # their absence is asserted (a future kubernetes-validate with them would be noticed)
            # and they are checked by hand.
            with pytest.raises(kubernetes_validate.utils.SchemaNotFoundError):
                kubernetes_validate.validate(doc, SCHEMA_VERSION, strict=True)
            check_monitoring_object(doc, docs)
        else:
            try:
                kubernetes_validate.validate(doc, SCHEMA_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
        checked += 1
    assert checked >= 8
    assert "CustomResourceDefinition" in {d["kind"] for d in docs}


def test_the_examples_cover_what_the_readme_documents(helm) -> None:
    names = {p.name for p in EXAMPLES}
    assert names == {
        "cluster-wide-rbac.yaml",
        "evaluation-bundled-redis.yaml",
        "existing-secret.yaml",
        "ingress-servicemonitor.yaml",
    }
    readme = (CHART / "README.md").read_text()
    for name in names:
        assert f"examples/{name}" in readme, f"{name} is not documented in charts/invoker/README.md"


#: Values that are Kubernetes objects passed through whole; the README documents them as one row.
OBJECT_VALUES = {
    "resources", "readinessProbe", "livenessProbe", "podSecurityContext", "containerSecurityContext",
    "nodeSelector", "affinity", "annotations", "labels",
}  # fmt: skip


def value_paths(tree: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in tree.items():
        if isinstance(value, dict) and key not in OBJECT_VALUES:
            paths += value_paths(value, f"{prefix}{key}.")
        else:
            paths.append(f"{prefix}{key}")
    return paths


def test_every_value_is_documented_in_the_readme() -> None:
    import yaml

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    missing = [path for path in value_paths(values) if f"`{path}`" not in readme]
    assert not missing, f"values missing from the table in charts/invoker/README.md: {missing}"


# --- the processes ---------------------------------------------------------------------------


def docs_grace(docs: list[dict]) -> int:
    """The web pod's termination grace period (Kubernetes' default when the chart sets none)."""
    (web,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-web")]
    return web["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)


def test_one_image_runs_web_worker_beat_and_the_migration_hook(helm) -> None:
    docs = helm.template(None)
    containers = app_containers(docs)
    assert set(containers) == set(APP_COMPONENTS)
    assert len({c["image"] for c in containers.values()}) == 1

    web = containers["web"]
    assert web["command"][:2] == ["uvicorn", "invoker_web.asgi:application"]
    # A stop is bounded well inside the pod's grace period, not left to the SIGKILL.
    assert "--timeout-graceful-shutdown=20" in web["command"]
    assert docs_grace(docs) > 20
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert containers["worker"]["command"][:3] == ["celery", "--app=invoker_web", "worker"]
    # Reconciles have a worker of their own; the other worker never takes them.
    assert containers["reconciler"]["command"][:3] == ["celery", "--app=invoker_web", "worker"]
    assert "--queues=reconcile" in containers["reconciler"]["command"]
    assert "--queues=celery" in containers["worker"]["command"]
    assert containers["beat"]["command"][:3] == ["celery", "--app=invoker_web", "beat"]
    # Read-only root filesystem: beat's schedule file must live on the /tmp emptyDir.
    assert "--schedule=/tmp/celerybeat-schedule" in containers["beat"]["command"]
    assert containers["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]

    beat = one(docs, "Deployment", "-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"

    job = one(docs, "Job", "-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    # The Secret the Job mounts is a hook too, created before it (lower weight).
    secret = one(docs, "Secret", "-secret-key")
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )

    service = one(docs, "Service", "-invoker")  # the dashboard's; the state Redis has its own
    assert service["spec"]["selector"] == one(docs, "Deployment", "-web")["spec"]["selector"]["matchLabels"]
    assert not by_kind(docs, "Ingress")
    assert not [d for d in docs if d["apiVersion"] == MONITORING]


@pytest.mark.parametrize("values", VALUES_SETS, ids=VALUES_IDS)
def test_every_pod_is_non_root_read_only_and_without_privileges(helm, values) -> None:
    for name, pod in pod_specs(helm.template(values)).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert "privileged" not in context, where
            assert container["resources"]["requests"], where
            assert container["resources"]["limits"]["memory"], where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{where} has no writable /tmp"
            assert "emptyDir" in volumes[tmp[0]["name"]], where


# --- the environment -------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUES_SETS, ids=VALUES_IDS)
def test_every_process_gets_the_production_environment(helm, values) -> None:
    docs = helm.template(values)
    settings_source = (ROOT / "invoker_web" / "settings.py").read_text()
    for component, container in app_containers(docs).items():
        env = env_of(container)
        assert env["DEBUG"]["value"] == "false"
        assert env["INVOKER_BACKEND"]["value"] == "kubernetes"
        assert env["INVOKER_KUBE_IN_CLUSTER"]["value"] == "true"
        assert env["INVOKER_NAMESPACE"]["value"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"]
        assert "secretKeyRef" in env["DATABASE_URL"]["valueFrom"]
        assert "value" in env["REDIS_URL"] or "secretKeyRef" in env["REDIS_URL"]["valueFrom"]
        assert "SECRET_KEY" not in env, "the key is passed as a file, never as a plain variable"
        # $(POD_IP) is expanded by the kubelet only when POD_IP is defined before it.
        names = list(env)
        assert names.index("POD_IP") < names.index("ALLOWED_HOSTS")
        assert env["ALLOWED_HOSTS"]["value"].endswith("$(POD_IP)")
        assert "CSRF_TRUSTED_ORIGINS" in env
        # Every variable is one the settings actually read (a typo would be silently ignored).
        for name in env:
            read = f'"{name}' in settings_source or (
                name.endswith("_FILE") and f'_secret("{name.removesuffix("_FILE")}")' in settings_source
            )
            assert read or name == "POD_IP", f"{component}: settings.py never reads {name}"
        # SECRET_KEY_FILE points into the mounted Secret.
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        key_dir = env["SECRET_KEY_FILE"]["value"].rsplit("/", 1)[0]
        assert mounts[key_dir]["readOnly"] is True


def test_the_managed_namespace_defaults_to_the_release_namespace(helm) -> None:
    env = env_of(app_containers(helm.template(None))["worker"])
    assert env["INVOKER_NAMESPACE"]["value"] == NAMESPACE
    env = env_of(app_containers(helm.template(None, "orchestrator.namespace=pipelines"))["worker"])
    assert env["INVOKER_NAMESPACE"]["value"] == "pipelines"


def run_check_deploy(env: dict[str, dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` with a container's environment: secrets resolved to stand-ins,
    $(POD_IP) expanded the way the kubelet does."""
    key_file = tmp_path / "secret-key"
    key_file.write_text(secrets.token_urlsafe(48))
    resolved = {}
    for name, item in env.items():
        if "value" in item:
            resolved[name] = item["value"]
        elif name == "POD_IP":
            resolved[name] = "10.244.0.7"
        elif name == "DATABASE_URL":
            resolved[name] = "postgres://invoker:pw@db.invalid:5432/invoker"
        elif name == "REDIS_URL":
            resolved[name] = "redis://redis.invalid:6379/0"
    resolved = {k: v.replace("$(POD_IP)", resolved["POD_IP"]) for k, v in resolved.items()}
    resolved["SECRET_KEY_FILE"] = str(key_file)
    base = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**base, **resolved}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("values", VALUES_SETS, ids=VALUES_IDS)
def test_check_deploy_passes_with_the_charts_environment(helm, values, tmp_path) -> None:
    web = app_containers(helm.template(values))["web"]
    env = env_of(web)
    result = run_check_deploy(env, tmp_path)
    if env["SECURE_SSL_REDIRECT"]["value"] == "false":
        # The evaluation example turns the redirect off for a plain-HTTP port-forward: the one
        # warning check --deploy must then give, and nothing else.
        assert result.returncode != 0
        assert "security.W008" in result.stderr + result.stdout
        assert len(re.findall(r"\(security\.W\d+\)", result.stderr + result.stdout)) == 1
    else:
        assert result.returncode == 0, result.stderr + result.stdout


# --- secrets, ingress, redis ------------------------------------------------------------------


def test_the_generated_secret_key_is_strong_and_mounted_as_a_file(helm) -> None:
    import base64

    docs = helm.template(None)
    secret = one(docs, "Secret", "-secret-key")
    key = base64.b64decode(secret["data"]["secret-key"]).decode()
    assert len(key) == 64
    assert len(set(key)) >= 20
    assert secret["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    for name, pod in pod_specs(docs).items():
        if "redis" in name:
            continue
        (volume,) = [v for v in pod["volumes"] if "secret" in v]
        assert volume["secret"]["secretName"] == secret["metadata"]["name"], name
    # The template reads the live Secret back with `lookup` before generating one.
    assert 'lookup "v1" "Secret"' in (CHART / "templates" / "secret.yaml").read_text()


def test_an_existing_secret_replaces_the_generated_one(helm) -> None:
    docs = helm.template(CHART / "examples" / "existing-secret.yaml")
    assert not by_kind(docs, "Secret")
    for container in app_containers(docs).values():
        env = env_of(container)
        assert env["SECRET_KEY_FILE"]["value"] == "/var/run/secrets/invoker/django-secret-key"
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "invoker-database",
            "key": "database-url",
        }
    for name, pod in pod_specs(docs).items():
        if "redis" in name:
            continue
        (volume,) = [v for v in pod["volumes"] if "secret" in v]
        assert volume["secret"] == {
            "secretName": "invoker-django",
            "items": [{"key": "django-secret-key", "path": "django-secret-key"}],
        }
        assert pod["imagePullSecrets"] == [{"name": "registry-example-com"}]


def test_ingress_hosts_are_allowed_and_trusted(helm) -> None:
    docs = helm.template(CHART / "examples" / "ingress-servicemonitor.yaml")
    ingress = one(docs, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "invoker.example.com"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["invoker.example.com"], "secretName": "invoker-example-com-tls"}
    ]
    env = env_of(app_containers(docs)["web"])
    assert env["ALLOWED_HOSTS"]["value"].split(",")[0] == "invoker.example.com"
    assert env["ALLOWED_HOSTS"]["value"].count("invoker.example.com,") == 1
    assert env["CSRF_TRUSTED_ORIGINS"]["value"] == "https://invoker.example.com"
    assert {d["kind"] for d in docs if d["apiVersion"] == MONITORING} == {"ServiceMonitor", "PodMonitor"}
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "invoker-redis", "key": "url"}


def test_behind_the_ingress_sign_in_failures_count_per_forwarded_client(helm) -> None:
    """Every request reaches the pods from the ingress: the client is what it appended to
    X-Forwarded-For (tests/foundation/test_rate_limits.py runs that setting)."""
    proxied = {"AXES_IPWARE_META_PRECEDENCE_ORDER", "AXES_IPWARE_PROXY_COUNT"}
    behind_ingress = env_of(
        app_containers(helm.template(CHART / "examples" / "ingress-servicemonitor.yaml"))["web"]
    )
    assert behind_ingress["AXES_IPWARE_META_PRECEDENCE_ORDER"]["value"] == "HTTP_X_FORWARDED_FOR,REMOTE_ADDR"
    assert behind_ingress["AXES_IPWARE_PROXY_COUNT"]["value"] == "0"
    two_proxies = env_of(app_containers(helm.template(None, "web.proxyCount=1"))["web"])
    assert two_proxies["AXES_IPWARE_PROXY_COUNT"]["value"] == "1"
    assert not proxied & set(env_of(app_containers(helm.template(None))["web"])), (
        "no proxy: the peer's address"
    )
    worker = env_of(
        app_containers(helm.template(CHART / "examples" / "ingress-servicemonitor.yaml"))["worker"]
    )
    assert not proxied & set(worker), "only the web process counts sign-ins"


def test_the_bundled_redis_is_what_the_app_talks_to(helm) -> None:
    docs = helm.template(CHART / "examples" / "evaluation-bundled-redis.yaml")
    redis = one(docs, "Deployment", "-invoker-redis")
    service = one(docs, "Service", "-invoker-redis")
    assert service["spec"]["selector"] == redis["spec"]["selector"]["matchLabels"]
    url = f"redis://{service['metadata']['name']}.{NAMESPACE}.svc:6379/0"
    for container in app_containers(docs).values():
        assert env_of(container)["REDIS_URL"]["value"] == url
    assert not by_kind(helm.template(None), "StatefulSet")
    assert len(by_kind(helm.template(None), "Deployment")) == 5  # web, worker, reconciler, beat, state-redis
