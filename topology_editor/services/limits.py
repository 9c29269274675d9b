"""The size limits every change is checked against, from the settings (``INVOKER_MAX_*``)."""

from django.conf import settings

from orchestrator.spec.model import Limits


def spec_limits() -> Limits:
    """The configured :class:`~orchestrator.spec.model.Limits`; a setting left unset keeps the default."""
    configured = {name: value for name, value in settings.INVOKER_SPEC_LIMITS.items() if value is not None}
    return Limits(**configured)
