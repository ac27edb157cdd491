import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.lifecycle import (
    EMAIL_MOVES,
    ENROLLMENT_MOVES,
    EmailState,
    EnrollmentStatus,
    IllegalMove,
    check_email_move,
    check_enrollment_move,
    is_final,
)


def test_an_exited_or_completed_enrollment_never_moves_again():
    for status in (EnrollmentStatus.EXITED, EnrollmentStatus.COMPLETED):
        assert is_final(status)
        for target in EnrollmentStatus:
            with pytest.raises(IllegalMove):
                check_enrollment_move(status, target)


def test_a_sent_email_can_only_become_bounced():
    check_email_move(EmailState.SENT, EmailState.BOUNCED)
    for target in set(EmailState) - {EmailState.BOUNCED}:
        with pytest.raises(IllegalMove):
            check_email_move(EmailState.SENT, target)


def test_an_email_is_never_sent_without_first_being_marked_sending():
    sources = {s for s, targets in EMAIL_MOVES.items() if EmailState.SENT in targets}
    assert sources == {EmailState.SENDING, EmailState.UNKNOWN}


def test_an_unknown_outcome_is_settled_but_never_cancelled_silently():
    assert EmailState.CANCELLED not in EMAIL_MOVES[EmailState.UNKNOWN]


def test_every_state_has_a_row_in_its_table():
    assert set(ENROLLMENT_MOVES) == set(EnrollmentStatus)
    assert set(EMAIL_MOVES) == set(EmailState)


@given(st.lists(st.sampled_from(list(EnrollmentStatus)), max_size=12))
def test_any_walk_that_reaches_a_final_state_stays_there(walk):
    status = EnrollmentStatus.ACTIVE
    for target in walk:
        try:
            check_enrollment_move(status, target)
        except IllegalMove:
            continue
        assert not is_final(status)
        status = target
