"""StreamField blocks shared across the site's pages."""

from wagtail import blocks


class LinkBlock(blocks.StructBlock):
    """A labelled link to a page of the site or to any URL; the page wins when both are set."""

    label = blocks.CharBlock(max_length=60)
    page = blocks.PageChooserBlock(required=False)
    url = blocks.CharBlock(required=False, max_length=300, help_text="Used when no page is set.")

    class Meta:
        icon = "link"


class OfferBlock(blocks.StructBlock):
    """One card of the home page's "What we offer" section."""

    icon = blocks.ChoiceBlock(
        choices=[
            ("star", "Star (benefits)"),
            ("user-plus", "Person (join)"),
            ("calendar", "Calendar (conference)"),
            ("ticket", "Ticket (registration)"),
            ("chat", "Speech bubbles (discussion)"),
            ("book", "Book (articles)"),
        ],
        default="star",
    )
    title = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock(max_length=400)
    link = LinkBlock(required=False)

    class Meta:
        icon = "pick"
        template = "portal/blocks/offer_block.html"
