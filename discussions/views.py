"""Pages of the discussion network. Views read, check permissions and call services."""

from __future__ import annotations

import re

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from membership.access import is_active_member

from . import services
from .archive_html import archive_html
from .forms import (
    InviteForm,
    JoinRequestForm,
    PostForm,
    PrivateReplyForm,
    ReplyForm,
    SearchForm,
    SubscriptionForm,
    ThreadPreferenceForm,
)
from .models import (
    Attachment,
    Invitation,
    JoinRequest,
    MailingList,
    Message,
    Subscription,
    Thread,
    ThreadPreference,
)
from .reading import split_body
from .selectors import search_threads
from .services.common import can_read, can_see, confirmation_token_read, is_moderator
from .services.posting import ALLOWED_ATTACHMENT_TYPES, CONFIRMATION_MAX_AGE
from .services.private_reply import refusal_text


def _visible_list(request, slug: str) -> MailingList:
    """The list, or a 404 for anyone it is hidden from (a committee list they cannot join)."""
    mailing_list = get_object_or_404(MailingList, slug=slug, is_active=True)
    if not can_see(request.user, mailing_list):
        raise Http404("No such list.")
    return mailing_list


def _closed_archive(request, mailing_list: MailingList) -> None:
    """A committee list's archive is not there for anyone but its subscribers and
    moderators: a 404, the same answer as for a list that does not exist."""
    if mailing_list.is_restricted and not can_read(request.user, mailing_list):
        raise Http404("No such list.")


def _readable_list(request, slug: str) -> MailingList:
    mailing_list = _visible_list(request, slug)
    _closed_archive(request, mailing_list)
    if not can_read(request.user, mailing_list):
        raise PermissionDenied("members only")
    return mailing_list


def _members_only(request, mailing_list=None):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(
        request, "discussions/members_only.html", {"mailing_list": mailing_list}, status=403
    )


def index(request):
    lists = [
        m
        for m in MailingList.objects.filter(is_active=True)
        .annotate(
            thread_total=Count("threads", distinct=True),
            last_activity=Max("threads__last_activity_at"),
        )
        .order_by("sort_order", "name")
        if can_see(request.user, m)
    ]
    modes = {}
    if request.user.is_authenticated:
        modes = dict(
            Subscription.objects.filter(user=request.user).values_list("mailing_list_id", "mode")
        )
    return render(
        request,
        "discussions/mailing_list_index.html",
        {
            "lists": lists,
            "modes": {pk: Subscription.Mode(mode).label for pk, mode in modes.items()},
            "is_member": is_active_member(request.user),
            "search_form": SearchForm(),
        },
    )


def list_archive(request, slug):
    mailing_list = _visible_list(request, slug)
    if not can_read(request.user, mailing_list):
        if mailing_list.is_restricted:
            return _join_page(request, mailing_list)
        return _members_only(request, mailing_list)
    threads = (
        Thread.objects.filter(mailing_list=mailing_list, message_count__gt=0)
        .select_related("mailing_list")
        .order_by("-last_activity_at", "-pk")
    )
    page = Paginator(threads, 25).get_page(request.GET.get("page"))
    participants: dict[int, list[str]] = {}
    rows = (
        Message.objects.filter(thread__in=list(page.object_list), status=Message.Status.PUBLISHED)
        .values_list("thread_id", "from_name", "from_email")
        .order_by("created_at")
    )
    for thread_id, name, email in rows:
        label = name or email.split("@")[0]
        names = participants.setdefault(thread_id, [])
        if label not in names:
            names.append(label)
    for thread in page.object_list:
        thread.participant_names = participants.get(thread.pk, [])
    subscription = (
        Subscription.objects.filter(user=request.user, mailing_list=mailing_list).first()
        if request.user.is_authenticated
        else None
    )
    return render(
        request,
        "discussions/mailing_list_detail.html",
        {
            "mailing_list": mailing_list,
            "page": page,
            "subscription": subscription,
            "can_post": is_active_member(request.user),
            "is_list_moderator": is_moderator(request.user, mailing_list),
            "search_form": SearchForm(),
        },
    )


def thread_detail(request, slug, pk):
    mailing_list = _visible_list(request, slug)
    _closed_archive(request, mailing_list)
    if not can_read(request.user, mailing_list):
        return _members_only(request, mailing_list)
    thread = get_object_or_404(Thread, pk=pk, mailing_list=mailing_list)
    posts = list(
        thread.messages.filter(status=Message.Status.PUBLISHED)
        .select_related("parent")
        .prefetch_related("attachments")
        .order_by("published_at", "pk")
    )
    # ?images=<pk> shows remote images for that one message; none load otherwise.
    show_images_for = request.GET.get("images", "")
    for post in posts:
        post.latest_text, post.has_folded = split_body(post.body_text)
        post.show_images = show_images_for == str(post.pk)
        post.html_view, post.images_hidden = archive_html(
            post.body_html, show_images=post.show_images
        )
    preference = None
    if request.user.is_authenticated:
        preference = (
            ThreadPreference.objects.filter(user=request.user, thread=thread)
            .values_list("state", flat=True)
            .first()
        )
    return render(
        request,
        "discussions/thread_detail.html",
        {
            "mailing_list": mailing_list,
            "thread": thread,
            "posts": posts,
            "form": ReplyForm(),
            "can_post": is_active_member(request.user),
            "preference": preference,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def thread_new(request, slug):
    mailing_list = _visible_list(request, slug)
    _closed_archive(request, mailing_list)
    if not is_active_member(request.user):
        return _members_only(request, mailing_list)
    form = PostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        message = services.message_post_web(
            user=request.user,
            mailing_list=mailing_list,
            subject=form.cleaned_data["subject"],
            text=form.cleaned_data["body"],
        )
        return _after_post(request, message)
    return render(
        request, "discussions/thread_form.html", {"mailing_list": mailing_list, "form": form}
    )


def _after_post(request, message: Message):
    if message.status == Message.Status.HELD:
        flash.warning(
            request,
            f"Your post is waiting for a moderator ({message.hold_reason}). We emailed you.",
        )
        return redirect(message.mailing_list.get_absolute_url())
    flash.success(request, "Posted. It is on its way to the list.")
    return redirect(f"{message.thread.get_absolute_url()}#m{message.pk}")


@login_required
@require_POST
def thread_reply(request, slug, pk):
    mailing_list = _visible_list(request, slug)
    _closed_archive(request, mailing_list)
    if not is_active_member(request.user):
        return _members_only(request, mailing_list)
    thread = get_object_or_404(Thread, pk=pk, mailing_list=mailing_list)
    form = ReplyForm(request.POST)
    parent = thread.messages.filter(status=Message.Status.PUBLISHED).order_by("-pk").first()
    if not form.is_valid() or parent is None:
        flash.error(request, "Please write a reply before sending.")
        return redirect(thread.get_absolute_url())
    message = services.message_post_web(
        user=request.user,
        mailing_list=mailing_list,
        subject="",
        text=form.cleaned_data["body"],
        parent=parent,
    )
    return _after_post(request, message)


@login_required
@require_POST
def thread_preference(request, slug, pk):
    mailing_list = _readable_list(request, slug)
    thread = get_object_or_404(Thread, pk=pk, mailing_list=mailing_list)
    form = ThreadPreferenceForm(request.POST)
    if form.is_valid():
        state = form.cleaned_data["state"] or None
        services.thread_preference_set(user=request.user, thread=thread, state=state)
        flash.success(
            request,
            {
                "follow": "You will get mail for this thread.",
                "mute": "This thread is muted: no more mail about it.",
            }.get(state, "Back to your list's delivery setting for this thread."),
        )
    return redirect(thread.get_absolute_url())


def _save_subscription_modes(request, wanted: dict[MailingList, str]) -> list[str]:
    """Apply every list's chosen mode at once (one Save for the whole page); a list whose
    choice did not change is left alone. All or nothing: PermissionDenied rolls back."""
    current = {s.mailing_list_id: s.mode for s in Subscription.objects.filter(user=request.user)}
    changes = []
    with transaction.atomic():
        for mailing_list, mode in wanted.items():
            if mode == current.get(mailing_list.pk, ""):
                continue
            if not mode:
                services.subscription_cancel(user=request.user, mailing_list=mailing_list)
                changes.append(f"you left {mailing_list.name}")
            else:
                services.subscription_set(user=request.user, mailing_list=mailing_list, mode=mode)
                label = Subscription.Mode(mode).label.lower()
                changes.append(f"{mailing_list.name}: {label}")
    return changes


@login_required
@require_http_methods(["GET", "POST"])
def subscriptions(request):
    if request.method == "POST":
        lists = _joinable_lists(request.user)
        if "list" in request.POST:
            # One list at a time (the older form, and links from a list's page).
            chosen = [m for m in lists if m.slug == request.POST.get("list")]
            if not chosen:
                raise Http404("No such list.")
            fields = {chosen[0]: request.POST.get("mode", "")}
        else:
            fields = {
                m: request.POST[f"mode-{m.slug}"] for m in lists if f"mode-{m.slug}" in request.POST
            }
        wanted = {}
        for mailing_list, value in fields.items():
            form = SubscriptionForm({"mode": value})
            if not form.is_valid():
                flash.error(request, f"{mailing_list.name}: choose one of the delivery options.")
                return redirect("discussions:subscriptions")
            wanted[mailing_list] = form.cleaned_data["mode"]
        try:
            changes = _save_subscription_modes(request, wanted)
        except PermissionDenied:
            return _members_only(request, next(iter(wanted), None))
        if changes:
            flash.success(request, "Saved: " + "; ".join(changes) + ".")
        else:
            flash.info(request, "Nothing to change: your settings are as they were.")
        return redirect("discussions:subscriptions")
    current = {s.mailing_list_id: s for s in Subscription.objects.filter(user=request.user)}
    rows = []
    for mailing_list in _joinable_lists(request.user):
        subscription = current.get(mailing_list.pk)
        rows.append(
            {
                "list": mailing_list,
                "subscription": subscription,
                "mode": subscription.mode if subscription else "",
            }
        )
    followed = ThreadPreference.objects.filter(user=request.user).select_related(
        "thread__mailing_list"
    )
    return render(
        request,
        "discussions/subscription_list.html",
        {
            "rows": rows,
            "choices": SubscriptionForm.base_fields["mode"].choices,
            "followed": followed,
            "is_member": is_active_member(request.user),
        },
    )


@login_required
@require_POST
def subscribe(request, slug):
    mailing_list = _visible_list(request, slug)
    if not services.may_join_directly(request.user, mailing_list):
        flash.info(request, "This list is joined by request or invitation.")
        return redirect(mailing_list.get_absolute_url())
    try:
        services.subscription_set(
            user=request.user,
            mailing_list=mailing_list,
            mode=request.POST.get("mode") or Subscription.Mode.EVERY,
        )
    except (PermissionDenied, ValueError):
        return _members_only(request, mailing_list)
    flash.success(request, f"Subscribed to {mailing_list.name}.")
    return redirect(mailing_list.get_absolute_url())


# RFC 8058: mail providers POST "List-Unsubscribe=One-Click" from their servers with no
# cookies, so there is no CSRF token to check; the signed token in the URL is the proof.
# A GET (a person clicking, or a link scanner) only shows a confirmation button.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        list_pk, _user_pk = services.common.unsubscribe_token_read(token)
        mailing_list = MailingList.objects.get(pk=list_pk)
    except (signing.BadSignature, MailingList.DoesNotExist):
        raise Http404("This unsubscribe link is not valid.") from None
    if request.method == "POST":
        services.subscription_unsubscribe(token=token)
        return render(
            request, "discussions/unsubscribe.html", {"mailing_list": mailing_list, "done": True}
        )
    return render(
        request,
        "discussions/unsubscribe.html",
        {"mailing_list": mailing_list, "done": False, "token": token},
    )


# The member's one-click answer for a post that came in their name unverified. A GET only
# shows the two buttons (mail scanners follow links); the POST acts, once.
@require_http_methods(["GET", "POST"])
def post_confirm(request, token):
    context = {"token": token}
    try:
        pk = confirmation_token_read(token, max_age=CONFIRMATION_MAX_AGE)
        message = Message.objects.select_related("mailing_list").get(pk=pk)
    except signing.SignatureExpired:
        return render(request, _CONFIRM, {**context, "state": "expired"}, status=410)
    except (signing.BadSignature, Message.DoesNotExist):
        return render(request, _CONFIRM, {**context, "state": "invalid"}, status=404)
    context["message"] = message
    if message.status != Message.Status.HELD or message.sender_verified:
        return render(request, _CONFIRM, {**context, "state": "decided"})
    if request.method == "GET":
        return render(request, _CONFIRM, {**context, "state": "ask"})
    action = request.POST.get("action")
    if action not in {"publish", "discard"}:
        return render(request, _CONFIRM, {**context, "state": "ask"}, status=400)
    message = services.message_confirm(message=message, publish=action == "publish")
    state = "published" if action == "publish" else "discarded"
    return render(request, _CONFIRM, {**context, "message": message, "state": state})


_CONFIRM = "discussions/post_confirmation.html"


def search(request):
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    visible = [m for m in MailingList.objects.filter(is_active=True) if can_see(request.user, m)]
    readable = [m for m in visible if can_read(request.user, m)]
    results = search_threads(readable=readable, query=query)
    return render(
        request,
        "discussions/search.html",
        {
            "form": form,
            "results": results,
            "query": query,
            "searched": bool(query),
            "lists": readable,
            "members_only_hidden": len(readable) < len(visible),
        },
    )


# Markup a browser would run as a page of ours if it ever rendered the file: never sent as
# such, whatever the sender declared or the name says.
_ACTIVE_TYPES = re.compile(r"html|svg|xml|javascript|ecmascript|x-shockwave", re.I)
_ACTIVE_NAMES = re.compile(r"\.(?:x?html?|svgz?|xml|xsl|xht|js|mjs|swf)$", re.I)


def _download_type(item: Attachment) -> str:
    ctype = (item.content_type or "").lower()
    if (
        ctype not in ALLOWED_ATTACHMENT_TYPES
        or _ACTIVE_TYPES.search(ctype)
        or _ACTIVE_NAMES.search(item.filename or "")
    ):
        return "application/octet-stream"
    return ctype


def attachment(request, pk):
    """An attachment, only ever as a download (Content-Disposition: attachment, nosniff).

    Files live in private storage and leave it only through here: a published post's to its
    list's readers, a held or rejected post's to the list's moderators alone.
    """
    item = get_object_or_404(Attachment.objects.select_related("message__mailing_list"), pk=pk)
    mailing_list = item.message.mailing_list
    if mailing_list.is_restricted and not can_read(request.user, mailing_list):
        raise Http404("No such attachment.")
    if item.message.status == Message.Status.PUBLISHED:
        if not can_read(request.user, mailing_list):
            return _members_only(request, mailing_list)
    elif not is_moderator(request.user, mailing_list):
        raise Http404("No such attachment.")
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=item.filename, content_type=_download_type(item)
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- committee and board lists: joining by request or invitation -------------------------------


def _joinable_lists(user) -> list[MailingList]:
    """The lists a person manages on the delivery page: open lists, and committee lists they
    are on or moderate (others are joined from the list's own page)."""
    return [
        m for m in MailingList.objects.filter(is_active=True) if services.may_join_directly(user, m)
    ]


def _join_page(request, mailing_list: MailingList):
    """A by-request or invitation-only list seen by a member not on it: how to get in."""
    pending = invitation = None
    if request.user.is_authenticated:
        pending = JoinRequest.objects.filter(user=request.user, mailing_list=mailing_list).first()
        invitation = Invitation.objects.filter(
            user=request.user, mailing_list=mailing_list, accepted_at__isnull=True
        ).first()
    return render(
        request,
        "discussions/join.html",
        {
            "mailing_list": mailing_list,
            "join_request": pending,
            "invitation": invitation,
            "form": JoinRequestForm(),
        },
    )


@login_required
@require_POST
def join_request(request, slug):
    mailing_list = _visible_list(request, slug)
    if mailing_list.joining != MailingList.Joining.REQUEST or can_read(request.user, mailing_list):
        return redirect(mailing_list.get_absolute_url())
    form = JoinRequestForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "discussions/join.html",
            {"mailing_list": mailing_list, "form": form},
            status=400,
        )
    services.join_request_create(
        user=request.user, mailing_list=mailing_list, note=form.cleaned_data["note"]
    )
    flash.success(request, "Asked. A moderator will answer, and we will email you.")
    return redirect(mailing_list.get_absolute_url())


def _moderated_list(request, slug: str) -> MailingList:
    mailing_list = get_object_or_404(MailingList, slug=slug, is_active=True)
    if not is_moderator(request.user, mailing_list):
        raise Http404("No such page.")
    return mailing_list


@login_required
@require_http_methods(["GET", "POST"])
def list_members(request, slug):
    """A list's moderators answer join requests and invite members."""
    mailing_list = _moderated_list(request, slug)
    form = InviteForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in {"approve", "decline"}:
            wanted = request.POST.get("request", "")
            item = get_object_or_404(
                JoinRequest, pk=int(wanted) if wanted.isdigit() else 0, mailing_list=mailing_list
            )
            item = services.join_request_decide(
                request=item, moderator=request.user, approve=action == "approve"
            )
            who = item.user.get_full_name() or item.user.email
            flash.success(request, f"{who}: {item.get_status_display().lower()}.")
            return redirect("discussions:members", slug=mailing_list.slug)
        if action == "invite":
            form = InviteForm(request.POST)
            if form.is_valid():
                services.invitation_create(
                    mailing_list=mailing_list,
                    user=form.cleaned_data["user"],
                    moderator=request.user,
                )
                flash.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
                return redirect("discussions:members", slug=mailing_list.slug)
        else:
            return HttpResponseBadRequest("Unknown action.")
    return render(
        request,
        "discussions/list_members.html",
        {
            "mailing_list": mailing_list,
            "pending": JoinRequest.objects.filter(
                mailing_list=mailing_list, status=JoinRequest.Status.PENDING
            ).select_related("user"),
            "invited": Invitation.objects.filter(
                mailing_list=mailing_list, accepted_at__isnull=True
            ).select_related("user"),
            "subscribers": Subscription.objects.filter(mailing_list=mailing_list)
            .select_related("user")
            .order_by("user__last_name", "user__first_name"),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """The signed link from an invitation mail. A GET shows a button (scanners follow
    links); the POST, by the member invited, subscribes them."""
    try:
        item = services.invitation_read(token)
    except signing.SignatureExpired:
        return render(request, "discussions/invitation.html", {"state": "expired"}, status=410)
    except (signing.BadSignature, Invitation.DoesNotExist):
        raise Http404("This invitation link is not valid.") from None
    if item.user_id != request.user.pk:
        raise Http404("This invitation link is not valid.")
    context = {"invitation": item, "mailing_list": item.mailing_list, "token": token}
    if request.method == "GET":
        return render(request, "discussions/invitation.html", {**context, "state": "ask"})
    try:
        services.invitation_accept(invitation=item, user=request.user)
    except PermissionDenied:
        return _members_only(request, item.mailing_list)
    flash.success(request, f"Welcome to {item.mailing_list.name}.")
    return redirect(item.mailing_list.get_absolute_url())


# --- replying privately to a post's author -----------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def reply_to_author(request, slug, pk, message_pk):
    """The archive's "Reply to author": a form relayed to the author's verified address,
    which the replier never sees. Members who may read the list only."""
    mailing_list = _visible_list(request, slug)
    _closed_archive(request, mailing_list)
    if not can_read(request.user, mailing_list) or not is_active_member(request.user):
        return _members_only(request, mailing_list)
    post = get_object_or_404(
        Message.objects.select_related("thread", "author"),
        pk=message_pk,
        thread_id=pk,
        mailing_list=mailing_list,
        status=Message.Status.PUBLISHED,
    )
    if post.author_id is None or post.author_id == request.user.pk:
        raise Http404("No one to reply to.")
    subject = post.subject if post.subject.lower().startswith("re:") else f"Re: {post.subject}"
    form = PrivateReplyForm(request.POST or None, initial={"subject": subject})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.private_reply_web(
                    user=request.user,
                    message=post,
                    subject=form.cleaned_data["subject"],
                    text=form.cleaned_data["body"],
                )
            except services.Refused as exc:
                form.add_error(None, refusal_text(exc))
            else:
                flash.success(request, f"Sent to {post.display_name} alone.")
                return redirect(f"{post.thread.get_absolute_url()}#m{post.pk}")
        status = 400
    return render(
        request,
        "discussions/reply_to_author.html",
        {"mailing_list": mailing_list, "post": post, "form": form},
        status=status,
    )
