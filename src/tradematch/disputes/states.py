from tradematch.kit.states import StateMachine

DISPUTE = StateMachine(
    entity="dispute",
    states=("open", "resolved"),
    transitions={("open", "resolve"): "resolved"},
)

RESOLUTIONS = ("release_to_vendor", "refund_customer", "split", "resume")
