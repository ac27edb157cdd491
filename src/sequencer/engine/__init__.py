"""The engine: the only loops in Sequencer. Workers claim due emails, re-check them,
send them, record the outcome and settle the ones whose outcome was lost."""
