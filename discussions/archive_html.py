"""A post's HTML as the archive shows it: nothing loads from another site until asked.

Remote images in mail are how senders track who opened a message (a "pixel" whose URL names
the reader). The archive keeps the sanitized HTML as received, and each time it is shown
replaces every image source with a local placeholder, unless the reader asked to show images
for that one message; even then the image is fetched with no Referer.
"""

from __future__ import annotations

import nh3
from django.templatetags.static import static

PLACEHOLDER = "discussions/img/image-hidden.svg"
# Attributes that make a browser fetch something as soon as the element is shown.
_LOADING = {"src", "srcset", "lowsrc", "dynsrc", "background", "poster"}


def archive_html(html: str, *, show_images: bool) -> tuple[str, int]:
    """(HTML safe to show, how many images were hidden). Never raises on bad input."""
    if not html:
        return "", 0
    hidden = 0
    placeholder = static(PLACEHOLDER)

    def _filter(tag: str, attribute: str, value: str) -> str | None:
        nonlocal hidden
        if attribute not in _LOADING:
            return value
        if show_images and tag == "img" and attribute == "src":
            return value
        hidden += 1
        return placeholder if attribute == "src" else None

    attributes = {
        **nh3.ALLOWED_ATTRIBUTES,
        "img": {*nh3.ALLOWED_ATTRIBUTES["img"], "referrerpolicy"},
    }
    try:
        cleaned = nh3.clean(
            html,
            attributes=attributes,
            attribute_filter=_filter,
            set_tag_attribute_values={"img": {"referrerpolicy": "no-referrer"}},
        )
    except Exception:
        return "", 0
    return cleaned, hidden
