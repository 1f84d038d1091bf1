"""An invitation's message and the buttons under it: start the flow, or no more invitations."""

from __future__ import annotations

from handlers.messages import Button, OutgoingMessage
from handlers.texts import Text, text

# Button payloads: "invite:start:<campaign id>", "invite:stop:<campaign id>".
INVITATION_PAYLOAD = "invite:"
_START = "start"
_STOP = "stop"
# Button payloads under /invitations' answer: "invitations:on", "invitations:off".
INVITATIONS_PAYLOAD = "invitations:"
_ON = "on"
_OFF = "off"


def invitation_message(*, campaign_id: int, invitation_text: str, language: str) -> OutgoingMessage:
    """The invitation in one language, with its Start and No-more-invitations buttons."""
    return OutgoingMessage(
        text=invitation_text,
        buttons=(
            Button(
                text(Text.INVITATION_START, language), f"{INVITATION_PAYLOAD}{_START}:{campaign_id}"
            ),
            Button(
                text(Text.INVITATION_STOP, language), f"{INVITATION_PAYLOAD}{_STOP}:{campaign_id}"
            ),
        ),
    )


def pressed_invitation(payload: str) -> tuple[bool, int] | None:
    """(True to start, False to stop; the campaign) an invitation button sent; None if not one."""
    if not payload.startswith(INVITATION_PAYLOAD):
        return None
    choice, _, campaign = payload.removeprefix(INVITATION_PAYLOAD).partition(":")
    if choice not in (_START, _STOP) or not campaign.isdigit():
        return None
    return choice == _START, int(campaign)


def invitations_choice(*, wants: bool, language: str) -> OutgoingMessage:
    """/invitations' answer: whether the customer gets invitations, and a button to change it."""
    if wants:
        button = Button(text(Text.INVITATION_STOP, language), f"{INVITATIONS_PAYLOAD}{_OFF}")
        return OutgoingMessage(text(Text.INVITATIONS_ON, language), (button,))
    button = Button(text(Text.INVITATIONS_TURN_ON, language), f"{INVITATIONS_PAYLOAD}{_ON}")
    return OutgoingMessage(text(Text.INVITATIONS_OFF, language), (button,))


def chosen_invitations(payload: str) -> bool | None:
    """True for invitations on, False for off, as /invitations' button sent; None if not it."""
    if not payload.startswith(INVITATIONS_PAYLOAD):
        return None
    choice = payload.removeprefix(INVITATIONS_PAYLOAD)
    return {_ON: True, _OFF: False}.get(choice)
