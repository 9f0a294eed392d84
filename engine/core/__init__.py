"""Floor 1: errors, the clock and settings. Imports nothing else of Reviewflow, no SQLAlchemy, no SpiffWorkflow."""
