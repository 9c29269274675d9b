"""A deployment imported through the services, and the local backend in a private directory."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.backends import reset_backend
from orchestrator import load_manifest_yaml
from topology_editor import services
from topology_editor.models import Deployment, Interface

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "word-count.yaml"


@pytest.fixture
def local_backend(settings, tmp_path: Path) -> Iterator[None]:
    settings.INVOKER_BACKEND = "local"
    settings.INVOKER_LOCAL_STATE_DIR = tmp_path / "local-runtime"
    reset_backend()
    yield
    reset_backend()


@pytest.fixture
def deployment(db, redis_url: str) -> Deployment:
    """The example, imported from the CLI (its reconcile request goes to the real Redis broker)."""
    manifest = load_manifest_yaml(EXAMPLE.read_text())
    return services.import_manifest(manifest, actor=None, interface=Interface.CLI).deployment
