"""Only the lifecycle service writes an enrollment's status or an email's state.

Every such change must be checked against the domain's state machines, which
:mod:`sequencer.sequences.lifecycle` does. This test reads the source of every other
module and fails on a write that would bypass it: ``x.status = ...`` / ``x.state = ...``
on an enrollment or an email, or ``status=`` / ``state=`` handed to ``update``,
``create``, ``bulk_create``/``bulk_update``, ``update_or_create``/``get_or_create`` or
the model constructors. Filters (``filter(state=...)``) only read and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sequencer"
SERVICE = SRC / "sequences" / "lifecycle.py"
WRITING_CALLS = {"update", "create", "update_or_create", "get_or_create", "bulk_update"}
MODELS = {"Enrollment", "ScheduledEmail"}
FIELDS = {"status", "state"}
# Names under which other modules hold enrollments and emails.
HOLDERS = ("enrollment", "email", "row", "locked", "scheduled")
# Querysets of enrollments or emails, as they appear in a receiver chain.
QUERYSET_HINTS = ("Enrollment", "ScheduledEmail", "emails", "enrollments")


def _chain(node: ast.AST) -> str:
    return ast.unparse(node)


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in FIELDS
                    and any(h in _chain(target.value).lower() for h in HOLDERS)
                ):
                    found.append(f"{path.name}:{node.lineno}: {_chain(target)} = ...")
        elif isinstance(node, ast.Call):
            keywords = {k.arg for k in node.keywords if k.arg}
            if not keywords & FIELDS:
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in MODELS:
                found.append(f"{path.name}:{node.lineno}: {func.id}({', '.join(keywords)})")
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in WRITING_CALLS
                and any(h in _chain(func.value) for h in QUERYSET_HINTS)
            ):
                found.append(f"{path.name}:{node.lineno}: {_chain(func)}(...)")
    return found


def test_no_module_but_the_lifecycle_service_writes_enrollment_or_email_states() -> None:
    modules = [p for p in SRC.rglob("*.py") if p != SERVICE and "migrations" not in p.parts]
    violations = [v for path in modules for v in _violations(path)]
    assert violations == []


def test_the_check_catches_each_way_of_bypassing_the_service(tmp_path: Path) -> None:
    bypass = tmp_path / "bypass.py"
    bypass.write_text(
        "enrollment.status = 'exited'\n"
        "email.state = 'sent'\n"
        "ScheduledEmail.objects.filter(pk=1).update(state='sent')\n"
        "Enrollment.objects.create(status='active')\n"
        "ScheduledEmail(state='scheduled')\n"
        "enrollment.emails.filter(step=1).update(state='cancelled')\n"
        "ScheduledEmail.objects.filter(state='sent').count()\n"  # a read: allowed
    )
    assert len(_violations(bypass)) == 6


def test_the_service_itself_is_where_the_writes_are() -> None:
    assert _violations(SERVICE) != []
