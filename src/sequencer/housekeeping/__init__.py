"""Housekeeping for large, long-lived databases: what only grows is thinned after a
configurable number of days, by ``sequencer housekeeping`` and once a day by a worker.

:mod:`.retention_settings` reads the settings, :mod:`.sweep` thins each kind in bounded
batches and :mod:`.daily` runs it once a day under a lease, so that of several workers
one does it.
"""
