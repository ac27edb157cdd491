"""What one template may cost: the size of ranges and of anything a filter builds.

python-liquid bounds loops, output, assignments and nesting (set on the sandboxed
environment), but not the values in between: ``(1..3000000) | join: ""`` builds a list
of three million strings before anything is written. Every filter is therefore wrapped
so that it refuses, before doing any work, a range longer than :data:`MAX_RANGE` and an
input whose result could outgrow :data:`MAX_CHARS`, and refuses afterwards a result
longer than :data:`MAX_ITEMS` items or :data:`MAX_CHARS` characters.

What can be known before sending is refused at publish instead, by
:func:`static_problems`: a range literal with numbers too far apart, and a division by
a literal zero. Everything else fails the one recipient whose render broke the limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from typing import Any

from liquid.ast import Node
from liquid.builtin.expressions.arguments import KeywordArgument, PositionalArgument
from liquid.builtin.expressions.primitive import (
    FloatLiteral,
    IntegerLiteral,
    Nil,
    RangeLiteral,
    StringLiteral,
)
from liquid.exceptions import LiquidError
from liquid.expression import Expression
from liquid.filter import num_arg

# A range is for looping over a few numbers; loops stop at 1,000 iterations anyway.
MAX_RANGE = 10_000
# No list or string in an email needs more; an email's whole output is capped at 2 MB.
MAX_ITEMS = 10_000
MAX_CHARS = 1_000_000

_DIVIDING = ("divided_by", "modulo")
# Keyword arguments python-liquid passes to filters that ask for them (not user input).
_INJECTED = frozenset({"context", "environment"})


class TemplateLimitError(LiquidError):
    """A value grew past what an email template may build."""


def _size(value: object) -> int:
    """Characters of a string, else items of a collection; 1 for anything else."""
    if isinstance(value, (str, Sized)):
        return len(value)
    return 1


def _check_input(name: str, left: object, args: Iterable[object]) -> None:
    for value in (left, *args):
        if isinstance(value, range) and len(value) > MAX_RANGE:
            raise TemplateLimitError(
                f"{name}: a range of {len(value)} numbers is too long; use at most {MAX_RANGE}",
                token=None,
            )
    # Many filters copy an argument once per item or character of their input (join,
    # replace): the product bounds what they can build.
    argument_size = sum(_size(a) for a in args if isinstance(a, str))
    if (_size(left) + 1) * (argument_size + 1) > MAX_CHARS:
        raise TemplateLimitError(
            f"{name}: its input and arguments could build more than {MAX_CHARS} characters",
            token=None,
        )


def _check_output(name: str, result: object) -> None:
    if isinstance(result, str):
        if len(result) > MAX_CHARS:
            raise TemplateLimitError(
                f"{name}: the result has more than {MAX_CHARS} characters", token=None
            )
    elif isinstance(result, range):
        if len(result) > MAX_RANGE:
            raise TemplateLimitError(
                f"{name}: a range of {len(result)} numbers is too long; use at most {MAX_RANGE}",
                token=None,
            )
    elif isinstance(result, Sized) and len(result) > MAX_ITEMS:
        raise TemplateLimitError(f"{name}: the result has more than {MAX_ITEMS} items", token=None)


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` refusing oversized input and output; liquid's markers are kept."""

    @functools.wraps(func)  # copies with_context / with_environment and friends
    def bounded(left: object, *args: object, **kwargs: object) -> Any:
        given = [*args, *(v for k, v in kwargs.items() if k not in _INJECTED)]
        _check_input(name, left, given)
        result = func(left, *args, **kwargs)
        _check_output(name, result)
        return result

    return bounded


def bounded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    return {name: bounded_filter(name, func) for name, func in filters.items()}


# --- Checks before publishing --------------------------------------------------------


@dataclass(frozen=True)
class StaticProblem:
    index: int  # where in the source, for the line number
    code: str
    message: str


def static_problems(nodes: Iterable[Node], context: Any) -> Iterator[StaticProblem]:
    """Ranges too long and divisions by zero written as literals in ``nodes``."""
    for node in _walk_nodes(nodes, context):
        for expression in node.expressions():
            for found in _walk_expression(expression):
                yield from _range_problem(found)
                yield from _division_problems(found)


def _walk_nodes(nodes: Iterable[Node], context: Any) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from _walk_nodes(node.children(context, include_partials=False), context)


def _walk_expression(expression: Expression) -> Iterator[Expression]:
    stack = [expression]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children())


def _range_problem(expression: Expression) -> Iterator[StaticProblem]:
    if not isinstance(expression, RangeLiteral):
        return
    start, stop = expression.start, expression.stop
    if isinstance(start, IntegerLiteral) and isinstance(stop, IntegerLiteral):
        length = stop.value - start.value + 1
        if length > MAX_RANGE:
            yield StaticProblem(
                expression.token.start_index,
                "range_too_long",
                f"the range ({start.value}..{stop.value}) has {length} numbers; a range "
                f"may have at most {MAX_RANGE}",
            )


def _division_problems(expression: Expression) -> Iterator[StaticProblem]:
    filters = [
        *(getattr(expression, "filters", None) or []),
        *(getattr(expression, "tail_filters", None) or []),
    ]
    for filter_ in filters:
        if filter_.name not in _DIVIDING:
            continue
        positional = [a for a in filter_.args if isinstance(a, PositionalArgument)]
        keywords = [a for a in filter_.args if isinstance(a, KeywordArgument)]
        if len(positional) == 1 and not keywords and _is_literal_zero(positional[0].value):
            yield StaticProblem(
                filter_.token.start_index,
                "division_by_zero",
                f"{filter_.name}: the number to divide by is zero; divide by another number",
            )


def _is_literal_zero(value: Expression) -> bool:
    if isinstance(value, Nil):
        return True
    if isinstance(value, (IntegerLiteral, FloatLiteral, StringLiteral)):
        # The filter reads its argument this way: text that is no number counts as 0.
        return bool(num_arg(value.value, default=0) == 0)
    return False
