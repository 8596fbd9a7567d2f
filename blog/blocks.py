"""The blocks an article body is made of.

The block names `heading` and `paragraph` are the ones the seed article was first written with;
keeping them means old revisions still open in the editor.
"""

from wagtail import blocks
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.images.blocks import ImageChooserBlock

RICH_TEXT_FEATURES = ["h3", "h4", "bold", "italic", "link", "ol", "ul", "hr", "document-link"]


class HeadingBlock(blocks.CharBlock):
    """A section heading; it gets an id so readers can link to a section."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A top-level block's input has no <label> in Wagtail's editor (the block's header is
        # not tied to it), so screen readers announce a nameless field (axe: label).
        self.field.widget.attrs.setdefault("aria-label", "Heading text")

    class Meta:
        icon = "title"
        form_classname = "title"
        template = "blog/blocks/heading.html"


class CaptionedImageBlock(blocks.StructBlock):
    """An image in the flow of the article. Alt text is required: screen readers need it and an
    editor is the only person who knows what the picture is there to say."""

    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(
        max_length=255, help_text="What the image shows, for people who cannot see it."
    )
    caption = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "image"
        template = "blog/blocks/image.html"


class QuoteBlock(blocks.StructBlock):
    quote = blocks.TextBlock(max_length=800)
    attribution = blocks.CharBlock(required=False, max_length=160)

    class Meta:
        icon = "openquote"
        template = "blog/blocks/quote.html"


class CallToActionBlock(blocks.StructBlock):
    """A boxed invitation to go somewhere else on the site (join, register, read more)."""

    title = blocks.CharBlock(max_length=100)
    text = blocks.TextBlock(required=False, max_length=400)
    page = blocks.PageChooserBlock()
    button_label = blocks.CharBlock(max_length=40, default="Find out more")

    class Meta:
        icon = "pick"
        label = "Call to action"
        template = "blog/blocks/call_to_action.html"


class VideoBlock(blocks.StructBlock):
    video = EmbedBlock(help_text="A YouTube or Vimeo address.")
    caption = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "media"
        template = "blog/blocks/video.html"


class ArticleTableBlock(TableBlock):
    class Meta:
        icon = "table"
        template = "blog/blocks/table.html"


class ArticleBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, icon="pilcrow")
    image = CaptionedImageBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    video = VideoBlock()
    table = ArticleTableBlock(table_options={"startRows": 3, "startCols": 3})
