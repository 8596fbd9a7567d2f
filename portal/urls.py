from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from portal import consent_views, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("mail/unsubscribe/<str:token>/", consent_views.unsubscribe, name="consent-unsubscribe"),
    path("mail/preferences/", consent_views.preferences, name="consent-preferences"),
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("allauth.urls")),
    path("membership/", include("membership.urls")),
    path("stripe/", include("payments.urls")),
    path("billing/", include("payments.billing_urls")),
    path("conferences/", include("conferences.urls")),
    path("discussions/", include("discussions.urls")),
    path("elections/", include("elections.urls")),
    path("follow/", include("blog.urls")),
    path("library/", include("library.urls")),
    # /verify/<number>/, /education/..., and /conferences/<id>/staff/ce/... (see its module).
    path("", include("education.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving catches everything else, so it comes last.
urlpatterns += [path("", include(wagtail_urls))]

handler500 = "portal.views.server_error"
