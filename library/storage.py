"""Where library files live: STORAGES["library"], a private store that no URL serves.

Looked up lazily, like discussions' attachment storage, so a test's override of STORAGES
reaches a FileField that was built when the models loaded."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class _LibraryStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages["library"]


_library_storage = _LibraryStorage()


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    # Only ever sent by override_settings, never in production.
    if setting in ("STORAGES", "STATIC_ROOT", "STATIC_URL"):
        _library_storage._wrapped = empty


def library_storage() -> _LibraryStorage:
    """The private storage for library files: never under MEDIA_ROOT, never at /media/."""
    return _library_storage


def library_path(instance: Any, filename: str) -> str:
    """A random name, so nobody can guess where a members-only file sits in the store."""
    return f"library/{secrets.token_hex(16)}"
