"""A mail provider that keeps what it is given, for engine tests that need no network.

:class:`CaptureProvider` implements :class:`~sequencer.mail.providers.base.MailProvider`.
Every accepted message is appended to :attr:`sent` (with the thread it was sent in);
:meth:`fail_next` makes the next sends raise the given classified failures instead, one
each, in order; :meth:`answer_find_sent` sets what :meth:`find_sent` says (or raises).
Real providers are tested against real peers; this fake exists so that the engine's
reaction to each failure class can be pinned to exact times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage

from sequencer.mail.providers.base import Check, ConnectionReport, Meanwhile, SendResult, ThreadRef

__all__ = ["CaptureProvider", "Captured"]


@dataclass(frozen=True)
class Captured:
    message: EmailMessage
    thread: ThreadRef | None

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class CaptureProvider:
    sent: list[Captured] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)
    _failures: deque[BaseException] = field(default_factory=deque)
    # ``None`` until told otherwise: then the search looks through what was captured.
    _answer: tuple[bool | BaseException | None] | None = None

    def fail_next(self, *failures: BaseException) -> None:
        """The next sends raise these, one per send, before any send succeeds again."""
        self._failures.extend(failures)

    def answer_find_sent(self, answer: bool | BaseException | None) -> None:
        """What :meth:`find_sent` answers from now on: found, not found, cannot search
        (``None``), or an exception it raises (a failing search)."""
        self._answer = (answer,)

    def send(
        self,
        message: EmailMessage,
        *,
        thread: ThreadRef | None = None,
        meanwhile: Meanwhile | None = None,  # captured at once: no wait to lend
    ) -> SendResult:
        if self._failures:
            raise self._failures.popleft()
        self.sent.append(Captured(message, thread))
        return SendResult(
            provider_message_id=f"capture-{len(self.sent)}",
            thread_id=thread.thread_id if thread and thread.thread_id else None,
            server_reply="250 captured",
        )

    def find_sent(self, message_id: str) -> bool | None:
        self.searched.append(message_id)
        if self._answer is None:
            return any(c.message_id == message_id for c in self.sent)
        (answer,) = self._answer
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def test_connection(self) -> ConnectionReport:
        return ConnectionReport(
            sending=Check(ok=True, message="captured"), reading=Check(ok=None, message="none")
        )
