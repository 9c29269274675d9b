"""The pod contract: everything the orchestrator and the executor must agree on, written once.

The orchestrator writes a pod's config files and environment (``orchestrator/reconciler/convert.py``, and
the local runtime in ``orchestrator/local``); the executor's containers read them
(``executor/``). Both import the names and shapes from here, so the two sides cannot drift:

- ``files``: the ConfigMap's files, ``main.json`` and ``<pod>.json``, as dataclasses with
  ``to_json`` and ``parse``;
- ``env``: the environment variables, the in-pod paths, the socket names and the metrics port;
- ``volume``: the layout of a ConfigMap mounted as a directory (the kubelet's ``..data`` swap),
  written by the local runtime and the tests, read by the executor's config watcher.

Standard library only: it ships in the executor images and in the control plane alike, and
importing it must never pull either side's dependencies into the other.
"""

from podcontract.files import MAIN_FILE, ConfigError, MainConfig, PodConfig, decode_json, pod_file

__all__ = ["MAIN_FILE", "ConfigError", "MainConfig", "PodConfig", "decode_json", "pod_file"]
