"""Reading connected mailboxes: what arrives is classified and acted upon.

* :mod:`.imap`: IMAP with UID cursors and UIDVALIDITY, IDLE or polling;
* :mod:`.gmail`: the Gmail API's history from a stored historyId;
* :mod:`.graph`: Microsoft Graph's inbox delta (or polling by arrival time);
* :mod:`.leases`: one reader per mailbox, whatever the number of workers;
* :mod:`.runner`: what the worker calls each tick, and the long-running IDLE loop.

Each message is stored by :mod:`sequencer.mail.inbound_store` and handed to the reader's
``act`` handler; what it does to enrollments is :mod:`sequencer.sequences.inbound`'s business.
"""
