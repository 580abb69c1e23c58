CHANNELS = ("in_app", "email", "push")
NOTIFICATION_STATES = ("pending", "sent", "dead")
# What a notification is about, for turning one kind off on one channel (an email's one-click
# unsubscribe turns its category off for email). ``rules.CATEGORY_OF`` sorts the events.
CATEGORIES = ("leads", "messages", "quotes", "payments", "disputes", "reviews", "updates")
