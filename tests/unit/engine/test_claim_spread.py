"""Which due emails a claim takes when a worker sends several mailboxes at once."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sequencer.engine.claim import spread_over_mailboxes

# (email id, mailbox id) in due order.
Candidates = list[tuple[int, int]]


def blocks(mailboxes: int, each: int) -> Candidates:
    """Due mailbox by mailbox, as after enrolling one list per mailbox."""
    return [(m * each + i, m) for m in range(mailboxes) for i in range(each)]


def test_a_claim_takes_a_few_of_each_mailbox_before_more_of_one() -> None:
    chosen = spread_over_mailboxes(blocks(mailboxes=10, each=10), limit=8, per_mailbox=2)
    assert chosen == [0, 1, 10, 11, 20, 21, 30, 31]


def test_a_single_busy_mailbox_still_fills_the_batch() -> None:
    chosen = spread_over_mailboxes(blocks(mailboxes=1, each=50), limit=20, per_mailbox=4)
    assert chosen == list(range(20))


def test_what_the_spread_leaves_free_is_filled_in_due_order() -> None:
    chosen = spread_over_mailboxes(blocks(mailboxes=2, each=10), limit=8, per_mailbox=2)
    assert chosen == [0, 1, 2, 3, 4, 5, 10, 11]


# No deadline: the machine running the suite may be busy; this is about the choice.
@settings(deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=5), max_size=60),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=5),
)
def test_the_claim_is_full_when_it_can_be_and_keeps_due_order(
    mailbox_of: list[int], limit: int, per_mailbox: int
) -> None:
    candidates = list(enumerate(mailbox_of))
    chosen = spread_over_mailboxes(candidates, limit, per_mailbox)
    assert len(chosen) == min(limit, len(candidates))
    assert chosen == sorted(chosen)  # ids were given in due order
    # Every mailbox with due emails gets its share before any gets more than that,
    # as far as the batch allows.
    counts = {m: sum(1 for i in chosen if mailbox_of[i] == m) for m in set(mailbox_of)}
    if any(n > per_mailbox for n in counts.values()):
        assert all(n >= min(per_mailbox, mailbox_of.count(m)) for m, n in counts.items())
