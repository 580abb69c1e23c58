from typing import Annotated

from tradematch.kit.schemas import NamedEnum
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

# The API's enum of these states (one schema component, generated from the table above).
ConversationStatus = Annotated[str, NamedEnum("ConversationStatus", CONVERSATION.states)]
MessageType = Annotated[str, NamedEnum("MessageType", MESSAGE_KINDS)]
