"""Satisfaction pad (好差评) bound to one window (issue 6)."""
