"""The workflow pages: the list, the builder and a workflow's page with its run log."""
