"""Send through any SMTP submission server; file and find sent mail over IMAP.

``provider`` puts the parts together; ``smtp`` submits (MAIL, RCPT, DATA, held
sessions), ``replies`` says what an SMTP refusal means, ``imap`` files and finds sent
mail, ``checks`` is the connection test and ``connection`` holds the server settings
and what a failed connection means.
"""

from sequencer.mail.providers.smtp_imap.connection import ServerSettings
from sequencer.mail.providers.smtp_imap.provider import SmtpImapProvider

__all__ = ["ServerSettings", "SmtpImapProvider"]
