from tradematch.kit.states import StateMachine

REVIEW = StateMachine(
    entity="review",
    states=("published", "held", "rejected"),
    transitions={
        ("held", "approve"): "published",
        ("held", "reject"): "rejected",
    },
)
