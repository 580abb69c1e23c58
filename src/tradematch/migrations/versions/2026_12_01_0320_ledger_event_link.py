"""Every ledger transaction names the event that caused it.

Existing rows are linked where the log records which event it was (a release's event names its
transaction); the rest (top-ups had no event; funding and refund events did not record their
transaction, so ``events verify`` could not check the link) stay NULL. From now on the link is required (a trigger refuses a row
without one, so the old rows need not be asserted; a CHECK ... NOT VALID would say the same but
SQLAlchemy's reflection cannot read one back) and must point into the event log (a foreign key
checked at COMMIT, since the event is written after the money moves).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE ledger_transactions t SET event_id = e.id
        FROM event_log e
        WHERE t.event_id IS NULL AND e.type = 'PAYMENT_RELEASED'
          AND e.payload->>'transaction_id' = t.id
        """
    )
    op.create_foreign_key(
        op.f("fk_ledger_transactions_event_id_event_log"),
        "ledger_transactions",
        "event_log",
        ["event_id"],
        ["id"],
        deferrable=True,
        initially="DEFERRED",
    )
    op.execute(
        """
        CREATE FUNCTION tm_require_ledger_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.event_id IS NULL THEN
            RAISE EXCEPTION 'ledger transaction % names no event', NEW.id
              USING ERRCODE = 'not_null_violation';
          END IF;
          RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_transactions_event_required"
        " BEFORE INSERT OR UPDATE OF event_id ON ledger_transactions"
        " FOR EACH ROW EXECUTE FUNCTION tm_require_ledger_event()"
    )
    op.create_index(
        "ix_ledger_transactions_event_id", "ledger_transactions", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_transactions_event_id", table_name="ledger_transactions")
    op.execute("DROP TRIGGER ledger_transactions_event_required ON ledger_transactions")
    op.execute("DROP FUNCTION tm_require_ledger_event()")
    op.drop_constraint(
        op.f("fk_ledger_transactions_event_id_event_log"), "ledger_transactions", type_="foreignkey"
    )
