"""Background jobs of control (thin; the logic is in the services)."""

from __future__ import annotations
