"""Serializers: the documented shapes of requests and responses.

Manifests (``apiVersion``/``kind``/``metadata``/``spec``/``status``) keep the custom
resource's camelCase keys; every other object of the API is snake_case. Manifest bodies are
not validated here: they go whole to :func:`orchestrator.parse_deployment` (through the
services), the one validator, so these serializers only document them.
"""
