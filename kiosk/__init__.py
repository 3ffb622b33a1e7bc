"""Touchscreen kiosk: service guides, checklists and printed tickets (issue 4)."""
