"""Ideas once recorded: statuses, the staff's moves, similar ideas, the digest and reminders."""
