"""The import pages: upload a CSV or Excel export, then watch it being imported. Thin:
``monitoring.intake.imports`` checks, stores and runs; these pages show."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.pages import BAD_INPUT, apply_domain_error

from ..intake.imports import (
    ACTIVE_STATES,
    import_allowed,
    import_create,
    import_errors_csv,
    import_get,
    import_recent,
)
from ..models import ImportJob

NO_CONTENT = 204
# Rejected rows shown on the page; the downloadable report has all that were kept.
ERRORS_SHOWN = 200


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Export file"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GB18030) or Excel .xlsx, the header in the "
            "first rows: 平台, 链接, 作者, 标题, 内容, 发布时间, 阅读数, "
            "转发数, 评论数, 点赞数, 来源类型."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/"
                "vnd.openxmlformats-officedocument."
                "spreadsheetml.sheet"
            }
        ),
    )


def _job_or_404(pk: int) -> ImportJob:
    try:
        return import_get(pk=pk)
    except ImportJob.DoesNotExist as exc:
        raise Http404(_("No such import.")) from exc


def _progress_context(job: ImportJob) -> dict:
    return {
        "job": job,
        "active": job.state in ACTIVE_STATES,
        "errors_shown": job.row_errors[:ERRORS_SHOWN],
        "errors_limit": ERRORS_SHOWN,
    }


@login_required
@require_http_methods(["GET", "POST"])
def import_list_view(request: HttpRequest) -> HttpResponse:
    may_upload = import_allowed(request.user)
    form = ImportUploadForm() if may_upload else None
    status = 200
    if request.method == "POST":
        if not may_upload:
            raise Forbidden(_("Your role does not allow importing posts."))
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_create(actor=request.user, upload=form.cleaned_data["file"])
            except DomainError as exc:
                status = apply_domain_error(request, exc, form)
            else:
                messages.success(request, _("The file has been uploaded and is being imported."))
                return redirect("monitoring:import_detail", pk=job.pk)
        else:
            status = BAD_INPUT
    return render(
        request,
        "monitoring/import_list.html",
        {"form": form, "jobs": import_recent()},
        status=status,
    )


@login_required
@require_GET
def import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "monitoring/import_detail.html", _progress_context(_job_or_404(pk)))


@require_GET
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The state, progress and errors alone, which htmx fetches every 2 seconds while the
    import runs."""
    if not request.user.is_authenticated:
        if request.headers.get("HX-Request"):
            # The session expired: keep the page as it is rather than swap a login page in.
            return HttpResponse(status=NO_CONTENT)
        return redirect_to_login(request.get_full_path())
    return render(request, "monitoring/_import_progress.html", _progress_context(_job_or_404(pk)))


@login_required
@require_GET
def import_errors_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows as a CSV file."""
    job = _job_or_404(pk)
    response = HttpResponse(import_errors_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
