"""What a lesson is made of (video, rich text, library documents) and what a quiz question is:
data staff edit in the course page, each block keeping its id across revisions, which is what
progress and answers refer to."""

from __future__ import annotations

from wagtail import blocks
from wagtail.embeds.blocks import EmbedBlock
from wagtail.snippets.blocks import SnippetChooserBlock

RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "link"]


class LessonVideoBlock(blocks.StructBlock):
    video = EmbedBlock(help_text="A YouTube or Vimeo address.")
    caption = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        icon = "media"
        template = "courses/blocks/video.html"


class LessonDocumentBlock(blocks.StructBlock):
    """A document from the resource library; its download keeps the library's access rule."""

    document = SnippetChooserBlock("library.LibraryDocument")
    note = blocks.CharBlock(required=False, max_length=255, help_text="Why to read it.")

    class Meta:
        icon = "doc-full"
        template = "courses/blocks/document.html"


class LessonBodyBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, icon="pilcrow")
    video = LessonVideoBlock()
    document = LessonDocumentBlock()


class LessonBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=200)
    body = LessonBodyBlock()

    class Meta:
        icon = "doc-full-inverse"
        label = "Lesson"


class ChoiceBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=300)
    correct = blocks.BooleanBlock(required=False)

    class Meta:
        icon = "tick"
        label = "Choice"


class QuestionBlock(blocks.StructBlock):
    question = blocks.CharBlock(max_length=500)
    choices = blocks.ListBlock(ChoiceBlock(), min_num=2, max_num=8)

    class Meta:
        icon = "help"
        label = "Question"
