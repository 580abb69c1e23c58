"""Delivery channels: in-app (the database itself), email (SMTP or an .eml outbox folder) and
web push. Each send carries the notification id, so a duplicate is recognisable."""
