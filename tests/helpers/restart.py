"""A customer's idea and the replies the default flow gives it."""

from __future__ import annotations

IDEA = "A dark mode for the mobile app, please, for the evening"


PROBLEM = "My eyes hurt when I read in bed at night"


EXPECTED = [
    "What would you like us to improve or create?",
    "What problem would it solve for you?",
    "How often do you run into this?",
    "How important is this to you, from 1 (nice to have) to 5 (I really need it)?",
    "May we contact you about this idea, to ask more or to tell you when it ships?",
    "Thank you! Your idea is recorded.",
]
