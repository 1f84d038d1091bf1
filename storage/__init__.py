"""Where ideabot keeps its state: tables, sessions, repositories and migrations."""
