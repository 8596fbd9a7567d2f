"""The site's date formats, in place of Django's English ones ("Nov. 21, 2026").

Django reads a locale's format module before settings.DATE_FORMAT, so the one format the site
uses everywhere ("Nov 21, 2026") is set here as well as in settings.
"""

DATE_FORMAT = "M j, Y"
SHORT_DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, g:i A"
SHORT_DATETIME_FORMAT = "M j, Y, g:i A"
MONTH_DAY_FORMAT = "M j"
YEAR_MONTH_FORMAT = "M Y"
