from django.contrib import admin

from lock.models import DataLock, Freeze
from sites.admin import ReadOnlyAdmin

from .models import AnalysisPlan
from .selectors import freezes_visible_to


# Shown for reference: freezes, locks and plans change only through their services (the
# lock page, the API, the commands).
@admin.register(Freeze)
class FreezeAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "reason", "frozen_by", "frozen_at", "released_at"]
    list_select_related = ["site", "family", "response", "frozen_by"]

    def get_queryset(self, request):
        # The same concealment as the pages: no arm-revealing form's freeze for the blinded.
        return freezes_visible_to(request.user)


@admin.register(DataLock)
class DataLockAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "locked_by", "locked_at", "ledger_seq", "unlocked_at"]
    list_select_related = ["trial", "locked_by"]


@admin.register(AnalysisPlan)
class AnalysisPlanAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "sha256", "recorded_by", "recorded_at"]
    list_select_related = ["recorded_by"]
