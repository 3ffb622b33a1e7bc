"""What every device shares: protocol types, the reconnecting client, the kivy look (issue 3 on)."""
