"""Kept so ``from pytest_syncmap.choices import Choices`` goes on working.

The choices live in :mod:`pytest_syncmap.domain.choices`.
"""

from __future__ import annotations

from .domain.choices import DEFAULT_CHOICES, Choices

__all__ = ["DEFAULT_CHOICES", "Choices"]
