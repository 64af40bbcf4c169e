"""The ledger source kinds activities credit under (registered in apps.py): "activity.session:<id>" for
attendance at a session, "activity.campaign:<id>" for a family's home check-in post."""

SESSION_SOURCE = "activity.session"
CAMPAIGN_SOURCE = "activity.campaign"
