from tradematch.kit.states import StateMachine

CONVERSATION = StateMachine(
    entity="conversation",
    states=("open", "locked", "archived"),
    transitions={
        ("open", "lock"): "locked",
        ("open", "archive"): "archived",
    },
)

MESSAGE_KINDS = ("text", "system", "attachment", "quote_reference")
