"""Read models for the inbox, task and instance views (views) and the lists HR browses (browse)."""
