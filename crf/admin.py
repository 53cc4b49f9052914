from django.contrib import admin

from sites.admin import ReadOnlyAdmin

from .models import FormDefinition

# Form versions are set-up: listed here, loaded only by forms_load (checked, versioned,
# recorded). Responses, queries and signatures are clinical data: pages and API only.
admin.site.register(FormDefinition, ReadOnlyAdmin)
