"""The parent's self-screening in a terminal: plain questions, go back, safe to quit, a summary.
`screening` holds and decides (no terminal), `screen` asks and shows."""
