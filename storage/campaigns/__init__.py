"""Campaigns in the database: the campaigns, their audience, invitations and figures."""
