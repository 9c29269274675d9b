"""The dashboard app: topologies, their validation and revisions, the API, the editor and metrics pages."""
