"""Work in steps (sequencer/stepwise.py): run at once it is the same work, and a caller
that steps through it does the work only as it asks for each step."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sequencer.stepwise import Steps, run_steps, stepwise


def _summing_in_steps(numbers: list[int], done: list[int]) -> Steps[int]:
    """Adds ``numbers`` one per step, noting each in ``done``."""
    total = 0
    for number in numbers:
        total += number
        done.append(number)
        yield
    return total


_summing = stepwise(_summing_in_steps)


@given(st.lists(st.integers()))
def test_work_run_at_once_returns_what_its_last_step_returns(numbers: list[int]) -> None:
    assert run_steps(_summing_in_steps(numbers, [])) == sum(numbers)
    assert _summing(numbers, []) == sum(numbers)


@given(st.lists(st.integers(), min_size=1))
def test_stepping_does_the_work_one_step_at_a_time(numbers: list[int]) -> None:
    done: list[int] = []
    steps = _summing_in_steps(numbers, done)
    assert done == []  # nothing happens before the first step is asked for
    for at in range(len(numbers)):
        next(steps)
        assert done == numbers[: at + 1]


def test_the_one_go_function_keeps_the_name_and_the_description_of_its_work() -> None:
    assert _summing.__name__ == "_summing"
    assert _summing.__doc__ == _summing_in_steps.__doc__
