"""Staff UI for reconciliation: upload a file, the run list, a run's live progress and its exceptions."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format
from django.views.generic import TemplateView
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.core.errors import DomainError, NotFound
from apps.reconciliation import selectors, services
from apps.reconciliation.models import ReconciliationRun
from apps.reconciliation.states import EXCEPTIONS, TERMINAL, RunKind

IMPORT_PERMISSION = "reconciliation.import_reconciliationrun"
ITEMS_SHOWN = 200


class RunListView(ListModelView):
    model = ReconciliationRun
    columns = ("number", "created", "kind", "file_name", "status", "matched", "unmatched", "mismatched")
    object_link_columns = ("number",)
    paginate_by = 25

    def number(self, run: ReconciliationRun) -> str:
        return f"#{run.pk}"

    number.short_description = "Run"  # type: ignore[attr-defined]
    number.orderby_column = "id"  # type: ignore[attr-defined]

    def created(self, run: ReconciliationRun) -> str:
        return date_format(timezone.localtime(run.created_at), "Y-m-d H:i")

    created.short_description = "Uploaded"  # type: ignore[attr-defined]
    created.orderby_column = "created_at"  # type: ignore[attr-defined]

    @viewprop
    def queryset(self) -> QuerySet[ReconciliationRun]:
        return selectors.run_list()


class RunUploadView(TemplateView):
    """Upload a settlement CSV or a camt.053 statement; the run page then shows its progress."""

    template_name = "reconciliation/upload.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "kinds": RunKind.choices,
            "list_url": self.viewset.reverse("index"),
        }

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        upload = request.FILES.get("file")
        kind = request.POST.get("kind", "")
        if upload is None or kind not in RunKind.values:
            messages.error(request, "Choose the kind of file and a file to upload.")
            return HttpResponseRedirect(self.viewset.reverse("upload"))
        try:
            if (upload.size or 0) > services.settings.RECONCILIATION_MAX_UPLOAD_BYTES:
                raise services.FileTooLarge(
                    f"The file is {upload.size} bytes; the limit is "
                    f"{services.settings.RECONCILIATION_MAX_UPLOAD_BYTES} bytes"
                )
            run = services.reconciliation_run_create(
                kind=kind, file_name=upload.name or "upload", content=upload.read(), actor=request.user
            )
        except DomainError as error:
            messages.error(request, error.detail)
            earlier = error.extra.get("run_id")
            if earlier:
                return HttpResponseRedirect(self.viewset.reverse("detail", args=[earlier]))
            return HttpResponseRedirect(self.viewset.reverse("upload"))
        messages.success(request, f"{upload.name} is queued as run #{run.pk}.")
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[run.pk]))


class _RunMixin:
    viewset: Any = None
    request: HttpRequest

    def run(self, pk: int) -> ReconciliationRun:
        if not self.viewset.has_view_permission(self.request.user):
            raise PermissionDenied
        try:
            return selectors.run_get(run_id=pk)
        except NotFound:
            raise Http404("No such run")


class RunDetailView(_RunMixin, TemplateView):
    template_name = "reconciliation/run_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        run = self.run(kwargs["pk"])
        show_all = self.request.GET.get("show") == "all"
        items = selectors.run_items(run=run, status=None if show_all else list(EXCEPTIONS))
        return {
            **super().get_context_data(**kwargs),
            "run": run,
            "done": run.status in TERMINAL,
            "percent": 100 * run.processed // run.total if run.total else 0,
            "items": [selectors.run_item_row(item) for item in items[:ITEMS_SHOWN]],
            "shown_limit": ITEMS_SHOWN,
            "show_all": show_all,
            "progress_url": self.viewset.reverse("progress", args=[run.pk]),
            "list_url": self.viewset.reverse("index"),
        }


class RunProgressView(_RunMixin, TemplateView):
    """The small fragment the run page polls every 1.5 s while the run is queued or running."""

    template_name = "reconciliation/_progress.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        run = self.run(kwargs["pk"])
        return {
            "run": run,
            "done": run.status in TERMINAL,
            "percent": 100 * run.processed // run.total if run.total else 0,
        }
