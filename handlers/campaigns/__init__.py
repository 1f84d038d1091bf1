"""Invitation campaigns: who is invited to talk, in which words, when, and what came of it."""
