from django.apps import AppConfig


class TopologyEditorConfig(AppConfig):
    name = "topology_editor"
    verbose_name = "Topologies"

    def ready(self) -> None:
        from topology_editor import (
            list_events,  # noqa: F401 - connects the list's live signals
            presence,  # noqa: F401 - connects the editors' save announcements
        )
