"""Pages over the CRM records: people, companies and lists.

Thin views over :mod:`sequencer.crm`. Records are workspace-wide: every signed-in member
sees and edits every one of them, as in the API. Selecting people ends in a GET link to
``/enroll/`` (``person=<id>`` repeated, or ``list=<id>`` with ``entry=<id>``), the enroll
dialog's contract.
"""
