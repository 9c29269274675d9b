"""Names of the Channels groups that carry live updates, shared by publishers and consumers."""


def metrics_group(deployment: str) -> str:
    """The group that receives one metrics message per deployment per collector interval."""
    return f"metrics.{deployment}"
