"""The Settings area: mailboxes, signatures and the outbox, members and teams, API tokens
and suppressions, each page a thin layer over the services the API uses."""
