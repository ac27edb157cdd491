"""The sequence pages: the list, the editor and its tabs. Views call the same services
as the API (:mod:`sequencer.sequences.authoring`, :mod:`sequencer.sequences.access`)."""
