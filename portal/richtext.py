"""The admin's rich text editor, refusing malformed input instead of failing on it.

Draftail posts its content as JSON. Wagtail's widget converts whatever arrives, so a hand-made
POST whose value is JSON but not Draftail's shape (a number, a list, a block without text)
raises deep inside the exporter and answers 500. Here such a value reads as empty, so the
form says the field is required and nothing is saved.
"""

import json

from wagtail.admin.rich_text import DraftailRichTextArea


class CheckedDraftailRichTextArea(DraftailRichTextArea):
    def value_from_datadict(self, data, files, name):
        raw = super(DraftailRichTextArea, self).value_from_datadict(data, files, name)
        if raw is None:
            return None
        try:
            state = json.loads(raw)
            if not isinstance(state, dict) or not isinstance(state.get("blocks"), list):
                return ""
            return self.converter.to_database_format(raw)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            return ""
