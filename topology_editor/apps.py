from django.apps import AppConfig


class TopologyEditorConfig(AppConfig):
    name = "topology_editor"
    verbose_name = "Topologies"
