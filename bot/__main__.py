"""Lets ``python -m bot`` run the ideabot command line."""

from bot.cli import main

main()
