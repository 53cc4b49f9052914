"""Headers every response of the system carries."""

from django.utils.cache import add_never_cache_headers, patch_cache_control


class NoStoreMiddleware:
    """Pages and API answers hold trial data, some of it identifying: no browser, proxy or
    shared cache may keep a copy (`Cache-Control: no-store`). Static files are served by
    WhiteNoise before this runs and keep their long cache lifetimes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response
