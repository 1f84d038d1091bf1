"""The composition root and the edges: settings, CLI, HTTP server, platform adapters, delivery."""
