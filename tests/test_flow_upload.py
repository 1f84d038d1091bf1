"""What an uploaded flow file gets back: its changes from live, a clash, problems by step."""

from __future__ import annotations

import pytest

from handlers.flows.loader import FlowFileError, parse_flow
from handlers.flows.schema import FlowDefinition
from handlers.flows.upload import (
    UploadRefused,
    clash,
    problems_reply,
    read_upload,
)
from tests.helpers.flow_uploads import shipped_text


def flow(text: str) -> FlowDefinition:
    return parse_flow(text, source="idea.yaml").definition


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("idea.yaml", False),
        ("idea (1).yaml", False),  # Slack's name for a second upload of idea.yaml
        ("campaign.yaml", True),
        ("Idea.YML", False),
    ],
)
def test_a_file_naming_another_existing_flow_clashes(name: str, refused: bool) -> None:
    assert (clash(name, "idea", {"idea", "campaign"}) is not None) is refused
    # a new flow's id is free to take, whatever the file is called
    assert clash(name, "spring", {"idea", "campaign"}) is None


def test_problems_name_their_line_and_step_and_a_binary_file_is_refused() -> None:
    text = shipped_text().replace("    kind: choice\n", "    kind: choise\n", 1)
    with pytest.raises(FlowFileError) as raised:
        read_upload(text.encode(), name="idea.yaml")
    reply = problems_reply("idea.yaml", text, raised.value.problems)
    line = text[: text.index("kind: choise")].count("\n") + 1
    assert reply.splitlines()[0] == "idea.yaml has 1 problem; nothing was stored:"
    assert reply.splitlines()[1].startswith(f"{line}: 'steps[3].kind' must be one of")
    assert reply.splitlines()[1].endswith("(step 'frequency')")
    with pytest.raises(UploadRefused, match="not a text file"):
        read_upload(b"id: idea\x00\x01", name="idea.yaml")
