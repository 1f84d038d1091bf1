"""A flow written out as a flow file, for admins to download, edit and upload or push."""

from __future__ import annotations

import yaml

from handlers.flows.schema import FlowDefinition


def flow_yaml(definition: FlowDefinition) -> str:
    """A flow as the YAML of a flow file, which reads back to the same flow."""
    content = definition.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)
