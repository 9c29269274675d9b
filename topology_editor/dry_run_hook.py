"""What a dry-run reconcile of a spec would do, for the pages that confirm a change (a rollback).

The editor may not import the reconcile (``jobs`` and ``orchestrator.reconciler.reconcile`` sit above or
beside it: README, "Layers"), so, as with :mod:`topology_editor.reconcile_hook`, ``jobs``
registers the function here in ``JobsConfig.ready()``.
"""

from collections.abc import Callable
from typing import Any

#: ``previewer(deployment_name, manifest, revision_name, revision_number)``: one line per object
#: change, each update followed by its field changes (indented).
Previewer = Callable[[str, dict[str, Any], str, int], list[str]]
_previewers: list[Previewer] = []


def register(previewer: Previewer) -> None:
    _previewers[:] = [previewer]


def preview(name: str, manifest: dict[str, Any], revision: str, number: int) -> tuple[list[str], str]:
    """The dry run's lines and ``""``, or no lines and why there are none: a confirmation page
    still shows the spec diff when the backend cannot be read."""
    if not _previewers:
        return [], "no dry run is available: the 'jobs' app is not installed"
    try:
        return _previewers[0](name, manifest, revision, number), ""
    except Exception as error:  # the backend's failure is shown on the page, not raised
        return [], f"the dry run failed: {error}"
