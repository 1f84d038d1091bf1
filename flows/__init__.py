"""The question flows shipped with ideabot (YAML files in this folder)."""
