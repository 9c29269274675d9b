"""The spec library: an InvokerDeployment's declaration, validation, YAML form and revisions.

Pure functions over documents, with no I/O: the editor may import it, and everything else
builds on it. :mod:`orchestrator` re-exports the names most callers need.
"""
