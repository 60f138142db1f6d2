"""The notification pages: the inbox, and the bell in the top bar that htmx refreshes.

Reading a list marks nothing: a notification becomes read only when the person says so
("mark all read") or acknowledges it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.http import client_ip
from core.pages import apply_domain_error

from .models import Notification
from .selectors import notification_list, unread_count
from .services import notification_acknowledge, notifications_mark_all_read
from .work import work_for_request

INBOX_PAGE_SIZE = 50
NO_CONTENT = 204


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    # The inbox shows what was sent in the app; the email copy of the same alert is not
    # a second item to deal with.
    in_app = notification_list(
        user=request.user, own_only=True, filters={"channel": Notification.Channel.IN_APP}
    )
    paginator = Paginator(in_app, INBOX_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "notifications": page.object_list,
            "unread": unread_count(user=request.user),
        },
    )


@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, which htmx fetches every 15 seconds."""
    if not request.user.is_authenticated:
        if request.headers.get("HX-Request"):
            # The session expired: keep the bell as it is rather than swap a login page
            # into the top bar (and do not throw away what the person is typing).
            return HttpResponse(status=NO_CONTENT)
        return redirect_to_login(request.get_full_path())
    return render(
        request,
        "notifications/_bell.html",
        {"unread": unread_count(user=request.user), "work": len(work_for_request(request))},
    )


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications_mark_all_read(actor=request.user)
    messages.success(request, _("All notifications are marked read."))
    return redirect("notifications:inbox")


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = Notification.objects.get(pk=pk)
    except Notification.DoesNotExist as exc:
        raise Http404(_("No such notification.")) from exc
    try:
        notification_acknowledge(
            notification=notification, actor=request.user, client_ip=client_ip(request)
        )
    except DomainError as exc:
        apply_domain_error(request, exc)
    else:
        messages.success(request, _("Acknowledged: the sender can see you have the alert."))
    return redirect("notifications:inbox")
