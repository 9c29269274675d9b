"""The dashboard's pages. They render a shell and the deployment's name; the data comes from
the REST API and the metrics websocket, read by the ES modules in ``static/invoker/``."""
