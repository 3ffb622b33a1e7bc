"""LED-style hall board, voice calls and serial window strips (issue 5)."""
