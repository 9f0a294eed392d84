"""Review cycles: create, preflight and launch a cycle (cycles, launch), its settings and their live edits,
the records a review projects, 360 feedback and its anonymity, reminders, and the rating guidance rules."""
