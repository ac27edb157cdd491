"""The Settings area: mailboxes, signatures and the outbox (with members, API tokens and
suppressions beside them), each page a thin layer over the services the API uses."""
