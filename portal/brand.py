"""The association's look on a page: the brand fields of its site's NavigationSettings, read
once per content generation in each process (saving the setting or an image starts a new one,
see PAGE_CACHE_INVALIDATING_MODELS), so the site's chrome costs no query for it."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from django.templatetags.static import static
from wagtail.images.models import SourceImageIOError

from .cache import per_generation, site_for_request
from .models import NavigationSettings

DEFAULT_LOGO = "portal/img/logo.svg"


@dataclass(frozen=True)
class Brand:
    logo_url: str
    # CSS custom properties for the <body> style attribute (the CSP allows style attributes,
    # not <style> elements); empty when the palette of site.css applies.
    style: str
    membership_headline: str = ""


def _mix(colour: str, other: tuple[int, int, int], share: float) -> str:
    """`colour` (#rrggbb) with `share` of `other` mixed in, as #rrggbb."""
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    mixed = (round(c * (1 - share) + o * share) for c, o in zip(channels, other, strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _style(brand_colour: str, accent_colour: str) -> str:
    black, white = (0, 0, 0), (255, 255, 255)
    properties = []
    # The darker and lighter shades keep the proportions of site.css's own palette.
    if brand_colour:
        properties += [
            f"--brand: {brand_colour}",
            f"--brand-dark: {_mix(brand_colour, black, 0.29)}",
            f"--brand-tint: {_mix(brand_colour, white, 0.9)}",
        ]
    if accent_colour:
        properties += [
            f"--accent: {accent_colour}",
            f"--accent-dark: {_mix(accent_colour, black, 0.1)}",
        ]
    return "; ".join(properties)


def _build(request, site) -> Brand:
    if site is None:
        return Brand(logo_url=static(DEFAULT_LOGO), style="")
    # Through the request, whose copy the header's and footer's links then read too.
    brand = NavigationSettings.for_request(request)
    logo_url = static(DEFAULT_LOGO)
    # A logo whose file is gone shows the default rather than a broken image.
    if brand.logo_id:
        with suppress(SourceImageIOError):
            logo_url = brand.logo.get_rendition("height-80").url
    # The fields' validators allow only #rrggbb; a row written around them is ignored.
    colours = [
        colour if NavigationSettings.is_colour(colour) else ""
        for colour in (brand.brand_colour, brand.accent_colour)
    ]
    return Brand(
        logo_url=logo_url, style=_style(*colours), membership_headline=brand.membership_headline
    )


def brand_for_request(request) -> Brand:
    """The look of the request's site, built once per content generation."""
    site = site_for_request(request)
    brands = per_generation("brands", dict)
    key = site.pk if site is not None else None
    if key not in brands:
        brands[key] = _build(request, site)
    return brands[key]
