from django.contrib import admin

from sites.admin import ReadOnlyAdmin

from .models import Trial

admin.site.register(Trial, ReadOnlyAdmin)
