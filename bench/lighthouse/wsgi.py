"""The portal's WSGI app for the Lighthouse run, with /media/ served as production's proxy
would serve it (gunicorn alone serves no uploads, and every missing image would count against
the page). WhiteNoise re-reads the folder, so renditions made during the run are found."""

from django.conf import settings
from whitenoise import WhiteNoise

from portal.wsgi import application as portal

application = WhiteNoise(
    portal, root=settings.MEDIA_ROOT, prefix=settings.MEDIA_URL, autorefresh=True
)
