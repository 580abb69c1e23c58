from tradematch.kit.states import StateMachine

QUOTE = StateMachine(
    entity="quote",
    states=("pending", "accepted", "rejected", "withdrawn", "expired"),
    transitions={
        ("pending", "edit"): "pending",
        ("pending", "accept"): "accepted",
        ("pending", "reject"): "rejected",
        ("pending", "withdraw"): "withdrawn",
        ("pending", "expire"): "expired",
    },
)
