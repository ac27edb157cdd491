"""Work that may pause between its steps: a generator that yields where a pause is cheap.

The engine renders and composes a mailbox's next email while the SMTP server answers the
current one, one step per wait (engine/dispatch.py): the server's answer sits in the
socket meanwhile, and the CPU does not idle through it. Everyone else calls the same
work in one go, through :func:`stepwise`, so there is one implementation of each.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

Steps = Generator[None, None, R]


def run_steps(steps: Steps[R]) -> R:
    """Every step of ``steps``, one after another; what the last one returns."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def stepwise(in_steps: Callable[P, Steps[R]]) -> Callable[P, R]:
    """``in_steps`` run to its end in one call, with the same parameters."""

    def at_once(*args: P.args, **kwargs: P.kwargs) -> R:
        return run_steps(in_steps(*args, **kwargs))

    at_once.__doc__ = in_steps.__doc__
    at_once.__name__ = at_once.__qualname__ = in_steps.__name__.removesuffix("_in_steps")
    return at_once
