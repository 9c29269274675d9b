"""The collector's status says whether automation is on, and if paused, why and since when:
what the dashboard's status bar shows (issue 16, item 4)."""

from jobs.backends import get_backend
from jobs.collector import collect
from topology_editor import services
from topology_editor.models import Interface
from topology_editor.services.automation_switch import set_automation


def test_a_paused_automation_is_in_every_collection_with_its_reason(deployment, local_backend) -> None:
    assert collect(deployment, get_backend())["status"]["automation"] == {
        "enabled": False,
        "pausedSince": None,
        "pausedReason": "",
    }
    set_automation(deployment.name, True, actor=None, interface=Interface.CLI)
    services.move_partition(deployment.name, "splitter", 0, "splitter-1", actor=None, interface=Interface.CLI)
    deployment.refresh_from_db()
    automation = collect(deployment, get_backend())["status"]["automation"]
    assert automation["enabled"] is True
    assert automation["pausedSince"] == deployment.automation_paused_since.isoformat()
    assert automation["pausedReason"].startswith("manual change (move_partition) by the CLI, revision ")
