"""The customer's dialogue: each message one turn, and the handover to staff and back."""
