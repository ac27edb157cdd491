"""Importing people or companies from a CSV file in the browser.

Upload, then check the first rows and what each column is imported as (guessed from
its name, changeable), then watch the progress: the page asks for the next piece by
htmx until the job is done (:mod:`sequencer.crm.importing.jobs`), and shows each row
that was not imported with its line, its column and what to fix. Every member may
import (as in the API: every member edits every record); a job is seen only by the
member who started it, anyone else gets a 404.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sequencer.clock import system_clock
from sequencer.crm.importing import jobs
from sequencer.crm.models import ImportJob, ImportStatus
from sequencer.domain.errors import InvalidInput
from sequencer.web.settings.admin_only import viewer

KINDS = {"people": "People", "companies": "Companies"}
PREVIEW_ROWS = 5


def _kind(raw: str | None) -> str:
    return raw if raw in KINDS else "people"


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    try:
        return jobs.get_job(viewer(request).pk, job_id)
    except ImportJob.DoesNotExist:
        raise Http404("No such import.") from None


@require_http_methods(["GET", "POST"])
@login_required
def start(request: HttpRequest) -> HttpResponse:
    kind = _kind(request.POST.get("object") or request.GET.get("object"))
    problem = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            problem = "Choose a CSV file to import."
        else:
            try:
                job = jobs.start(
                    viewer(request).pk,
                    kind,
                    upload.name or "",
                    io.BytesIO(upload.read()),
                    clock=system_clock,
                )
            except InvalidInput as refused:
                problem = refused.message
            else:
                return redirect("web:import_job", job_id=job.pk)
    return render(
        request,
        "web/importing/upload.html",
        {
            "section": kind,
            "kind": kind,
            "kind_label": KINDS[kind],
            "kinds": KINDS,
            "problem": problem,
        },
        status=400 if problem else 200,
    )


def _context(job: ImportJob, problem: InvalidInput | None = None) -> dict[str, Any]:
    field = (problem.field or "") if problem else ""
    column_problem = int(field.split(".")[1]) if field.startswith("column.") and problem else None
    context: dict[str, Any] = {
        "section": job.kind,
        "job": job,
        "kind_label": KINDS[job.kind],
        "noun": "people" if job.kind == "people" else "companies",
        "percent": round(100 * job.position / job.total) if job.total else 100,
        "mapping_problem": problem.message if problem and column_problem is None else "",
    }
    if job.status == ImportStatus.MAPPING:
        rows = [cells for _, cells in job.records[:PREVIEW_ROWS]]
        context["preview"] = [
            [row[i] if i < len(row) else "" for i in range(len(job.header))] for row in rows
        ]
        context["columns"] = [
            (
                index,
                name,
                job.mapping[index] if index < len(job.mapping) else "",
                [row[index] for row in context["preview"] if row[index].strip()][:3],
                problem.message if problem and index == column_problem else "",
            )
            for index, name in enumerate(job.header)
        ]
        context["targets"] = jobs.targets(job.kind)
    if job.status == ImportStatus.DONE:
        context["errors"] = [
            {**error, "column": jobs.column_of(job, error.get("field"))} for error in job.errors
        ]
    return context


@require_GET
@login_required
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    return render(request, "web/importing/job.html", _context(job))


@require_POST
@login_required
def save_mapping(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    mapping = [request.POST.get(f"column-{i}", "") for i in range(len(job.header))]
    try:
        jobs.set_mapping(job, mapping)
    except InvalidInput as refused:
        job.mapping = mapping  # drawn as chosen, with the problem next to its column
        return render(request, "web/importing/job.html", _context(job, refused), status=400)
    return redirect("web:import_job", job_id=job.pk)


@require_POST
@login_required
def advance(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    job = jobs.advance(viewer(request).pk, job.pk, clock=system_clock)
    if request.headers.get("HX-Request") != "true":
        return redirect("web:import_job", job_id=job.pk)
    return render(request, "web/importing/job.html#progress", _context(job))
