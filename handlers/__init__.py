"""The platform-independent core of ideabot: flows, dialogue and the ports it talks through."""
