CHANNELS = ("in_app", "email", "push")
NOTIFICATION_STATES = ("pending", "sent", "dead")
