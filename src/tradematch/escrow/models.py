from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tradematch.core.orm import Base, CreatedAt, Timestamps, check_in
from tradematch.escrow.states import ESCROW, PAYOUT

LEDGER_ACCOUNT_KINDS = ("provider", "customer_wallet", "escrow", "vendor_wallet")
WALLET_KINDS = ("customer_wallet", "vendor_wallet")
LEDGER_TRANSACTION_KINDS = (
    "top_up",
    "escrow_fund",
    "milestone_release",
    "dispute_release",
    "dispute_refund",
    "withdrawal",
    "payout",
)


class EscrowAccount(Timestamps, Base):
    __tablename__ = "escrow_accounts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    vendor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(24), server_default="pending")
    total_pence: Mapped[int] = mapped_column(BigInteger)
    funded_pence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    released_pence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refunded_pence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    __table_args__ = (
        CheckConstraint(check_in("status", ESCROW.states), name="status"),
        CheckConstraint("total_pence > 0 AND total_pence <= 100000000", name="total"),
        CheckConstraint(
            "funded_pence >= 0 AND released_pence >= 0 AND refunded_pence >= 0"
            " AND funded_pence <= total_pence AND released_pence + refunded_pence <= funded_pence",
            name="amounts",
        ),
        Index("ix_escrow_accounts_customer_id", "customer_id"),
        Index("ix_escrow_accounts_vendor_id", "vendor_id"),
    )


class LedgerAccount(CreatedAt, Base):
    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    # The user (wallets), the escrow account (escrow), or the provider's name (provider).
    owner_ref: Mapped[str] = mapped_column(String(40))
    balance_pence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    __table_args__ = (
        CheckConstraint(check_in("kind", LEDGER_ACCOUNT_KINDS), name="kind"),
        # Only the external provider account may go negative (money that came in from outside).
        CheckConstraint("kind = 'provider' OR balance_pence >= 0", name="balance_nonnegative"),
        Index("uq_ledger_accounts_kind_owner_ref", "kind", "owner_ref", unique=True),
    )


class LedgerTransaction(CreatedAt, Base):
    __tablename__ = "ledger_transactions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    # The event that caused it, written in the same transaction (so the foreign key is checked
    # at COMMIT, after the event log's flush). Rows from before the link existed may have none;
    # a trigger (ledger_transactions_event_required) refuses a new row without one.
    event_id: Mapped[str | None] = mapped_column(
        ForeignKey("event_log.id", deferrable=True, initially="DEFERRED")
    )
    __table_args__ = (
        CheckConstraint(check_in("kind", LEDGER_TRANSACTION_KINDS), name="kind"),
        Index("ix_ledger_transactions_job_id", "job_id"),
        Index("ix_ledger_transactions_event_id", "event_id"),
    )


class LedgerEntry(CreatedAt, Base):
    """Immutable; a deferred constraint trigger checks each transaction sums to zero."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("amount_pence <> 0", name="amount_nonzero"),
        Index("ix_ledger_entries_transaction_id", "transaction_id"),
        Index("ix_ledger_entries_account_id", "account_id"),
    )


class Payout(Timestamps, Base):
    """Money leaving a user's wallet for their bank, through the payment provider."""

    __tablename__ = "payouts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    wallet_kind: Mapped[str] = mapped_column(String(24))
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="requested")
    provider: Mapped[str] = mapped_column(String(24))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    sent_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(check_in("status", PAYOUT.states), name="status"),
        CheckConstraint(check_in("wallet_kind", WALLET_KINDS), name="wallet_kind"),
        CheckConstraint("amount_pence > 0", name="amount"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent"),
        Index("ix_payouts_user_id_created_at", "user_id", "created_at"),
        Index("ix_payouts_created_at", "created_at"),
    )
