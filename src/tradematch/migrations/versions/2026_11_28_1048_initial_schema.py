"""Initial schema: every table, constraint and index, the outcode centroids, and the rules the
database itself enforces (immutable event log, messages and ledger; balanced ledger transactions).

Revision ID: 0001
Revises:
Create Date: 2026-11-28 10:48:38
"""

import csv
from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE_TABLES = ("event_log", "event_audience", "messages", "ledger_entries")

DATABASE_RULES = [
    """
CREATE SEQUENCE event_log_seq AS bigint
""",
    """
-- Great-circle distance in miles between two WGS84 points (inlinable SQL function).
CREATE FUNCTION tm_distance_miles(lat1 float8, lon1 float8, lat2 float8, lon2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 2 * 3958.8 * asin(least(1.0, sqrt(
    power(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2))))
$$
""",
    """
-- Append-only tables: UPDATE, DELETE and TRUNCATE are refused by the database itself.
CREATE FUNCTION tm_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$
""",
    """
-- Each ledger entry moves its account's balance (a CHECK keeps wallets and escrow >= 0).
CREATE FUNCTION tm_apply_ledger_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_accounts SET balance_pence = balance_pence + NEW.amount_pence
   WHERE id = NEW.account_id;
  RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION tm_apply_ledger_entry()
""",
    """
-- At commit, every ledger transaction that gained entries must sum to zero.
CREATE FUNCTION tm_check_ledger_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE total bigint;
BEGIN
  SELECT coalesce(sum(amount_pence), 0) INTO total
    FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
  IF total <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % is unbalanced by % pence', NEW.transaction_id, total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$
""",
    """
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_check_ledger_balanced()
""",
]


def _load_outcodes() -> None:
    table = sa.table(
        "outcodes",
        sa.column("outcode", sa.String),
        sa.column("latitude", sa.Float),
        sa.column("longitude", sa.Float),
    )
    data = resources.files("tradematch.data").joinpath("uk_outcodes.csv")
    with data.open(encoding="utf-8") as handle:
        rows = [
            {
                "outcode": r["outcode"],
                "latitude": float(r["latitude"]),
                "longitude": float(r["longitude"]),
            }
            for r in csv.DictReader(handle)
        ]
    op.bulk_insert(table, rows)


def upgrade() -> None:
    _create_tables()
    _load_outcodes()
    for statement in DATABASE_RULES:
        op.execute(statement)
    for table in IMMUTABLE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tm_reject_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tm_reject_change()"
        )


def downgrade() -> None:
    for table in IMMUTABLE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_balanced ON ledger_entries")
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_apply ON ledger_entries")
    _drop_tables()
    op.execute("DROP FUNCTION IF EXISTS tm_check_ledger_balanced()")
    op.execute("DROP FUNCTION IF EXISTS tm_apply_ledger_entry()")
    op.execute("DROP FUNCTION IF EXISTS tm_reject_change()")
    op.execute("DROP FUNCTION IF EXISTS tm_distance_miles(float8, float8, float8, float8)")
    op.execute("DROP SEQUENCE IF EXISTS event_log_seq")


def _create_tables() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status_code BETWEEN 100 AND 599", name=op.f("ck_idempotency_keys_status_code")
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        "ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("owner_ref", sa.String(length=40), nullable=False),
        sa.Column("balance_pence", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind = 'provider' OR balance_pence >= 0",
            name=op.f("ck_ledger_accounts_balance_nonnegative"),
        ),
        sa.CheckConstraint(
            "kind IN ('provider', 'customer_wallet', 'escrow', 'vendor_wallet')",
            name=op.f("ck_ledger_accounts_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
    )
    op.create_index(
        "uq_ledger_accounts_kind_owner_ref", "ledger_accounts", ["kind", "owner_ref"], unique=True
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        "ix_login_attempts_bucket_created_at",
        "login_attempts",
        ["bucket", "created_at"],
        unique=False,
    )
    op.create_table(
        "outcodes",
        sa.Column("outcode", sa.String(length=4), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("outcode", name=op.f("pk_outcodes")),
    )
    op.create_index(
        "ix_outcodes_latitude_longitude", "outcodes", ["latitude", "longitude"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("outcode", sa.String(length=4), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("role IN ('customer', 'vendor', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["outcode"], ["outcodes.outcode"], name=op.f("fk_users_outcode_outcodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=True),
        sa.Column("trade_category", sa.String(length=32), nullable=False),
        sa.Column("budget_min_pence", sa.Integer(), nullable=False),
        sa.Column("budget_max_pence", sa.Integer(), nullable=False),
        sa.Column("timeframe", sa.String(length=16), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("outcode", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("awarded_vendor_id", sa.String(length=40), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'draft') = (published_at IS NULL) OR status = 'cancelled'",
            name=op.f("ck_jobs_published_at"),
        ),
        sa.CheckConstraint(
            "awarded_vendor_id IS NOT NULL OR status IN ('draft', 'live', 'cancelled', 'expired')",
            name=op.f("ck_jobs_awarded_vendor"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'live', 'in_progress', 'disputed', 'completed', 'closed', 'cancelled', 'expired')",
            name=op.f("ck_jobs_status"),
        ),
        sa.CheckConstraint(
            "timeframe IN ('urgent', 'within_a_week', 'within_a_month', 'flexible')",
            name=op.f("ck_jobs_timeframe"),
        ),
        sa.CheckConstraint(
            "trade_category IN ('Plumbing', 'Electrical', 'Carpentry', 'Roofing', 'Painting & Decorating', 'Plastering', 'Tiling', 'Heating & Gas', 'Locksmith', 'Gardening', 'Building', 'Cleaning', 'Handyman')",
            name=op.f("ck_jobs_trade_category"),
        ),
        sa.CheckConstraint(
            "budget_min_pence > 0 AND budget_max_pence <= 100000000 AND budget_min_pence <= budget_max_pence",
            name=op.f("ck_jobs_budget"),
        ),
        sa.ForeignKeyConstraint(
            ["awarded_vendor_id"], ["users.id"], name=op.f("fk_jobs_awarded_vendor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_jobs_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["outcode"], ["outcodes.outcode"], name=op.f("fk_jobs_outcode_outcodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_completed_at",
        "jobs",
        ["completed_at"],
        unique=False,
        postgresql_where=sa.text("status = 'completed'"),
    )
    op.create_index(
        "ix_jobs_customer_id_created_at",
        "jobs",
        ["customer_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_jobs_live_published_at",
        "jobs",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("status = 'live'"),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('in_app', 'email', 'push')",
            name=op.f("ck_notification_preferences_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "channel", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("p256dh", sa.String(length=255), nullable=False),
        sa.Column("auth", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_push_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(
        "ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"], unique=False
    )
    op.create_table(
        "vendor_profiles",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("business_name", sa.String(length=120), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("outcode", sa.String(length=4), nullable=False),
        sa.Column("service_radius_miles", sa.Integer(), nullable=False),
        sa.Column("accepting_leads", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "badges", postgresql.ARRAY(sa.String(length=32)), server_default="{}", nullable=False
        ),
        sa.Column("rating_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rating_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "badges <@ ARRAY['verified', 'top_rated', 'fast_responder']::varchar[]",
            name=op.f("ck_vendor_profiles_badges"),
        ),
        sa.CheckConstraint(
            "rating_count >= 0 AND rating_total BETWEEN rating_count AND 5 * rating_count",
            name=op.f("ck_vendor_profiles_rating"),
        ),
        sa.CheckConstraint(
            "service_radius_miles BETWEEN 1 AND 100", name=op.f("ck_vendor_profiles_service_radius")
        ),
        sa.ForeignKeyConstraint(
            ["outcode"], ["outcodes.outcode"], name=op.f("fk_vendor_profiles_outcode_outcodes")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_vendor_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_vendor_profiles")),
    )
    op.create_index(
        "ix_vendor_profiles_outcode_accepting",
        "vendor_profiles",
        ["outcode"],
        unique=False,
        postgresql_include=["service_radius_miles", "user_id", "rating_total", "rating_count"],
        postgresql_where=sa.text("accepting_leads"),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("raised_by", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=5000), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("resolution", sa.String(length=24), nullable=True),
        sa.Column("vendor_share_pence", sa.BigInteger(), nullable=True),
        sa.Column("resolution_note", sa.String(length=5000), nullable=True),
        sa.Column("resolved_by", sa.String(length=40), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolution IS NOT NULL)", name=op.f("ck_disputes_resolved")
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('release_to_vendor', 'refund_customer', 'split', 'resume')",
            name=op.f("ck_disputes_resolution"),
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_disputes_status")),
        sa.CheckConstraint(
            "vendor_share_pence IS NULL OR vendor_share_pence >= 0",
            name=op.f("ck_disputes_vendor_share"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_disputes_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["raised_by"], ["users.id"], name=op.f("fk_disputes_raised_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_disputes_resolved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index(
        "ix_disputes_status_created_at", "disputes", ["status", "created_at"], unique=False
    )
    op.create_index(
        "uq_disputes_job_id_open",
        "disputes",
        ["job_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "event_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_index", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_event_log_job_id_jobs")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_event_log")),
        sa.UniqueConstraint("id", name=op.f("uq_event_log_id")),
        sa.UniqueConstraint(
            "job_id",
            "chain_index",
            name="uq_event_log_job_id_chain_index",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index("ix_event_log_job_id_seq", "event_log", ["job_id", "seq"], unique=False)
    op.create_table(
        "leads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="offered", nullable=False),
        sa.Column("price_pence", sa.Integer(), nullable=False),
        sa.Column("distance_miles", sa.Float(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=500), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "accepted_at IS NOT NULL OR status IN ('offered', 'declined', 'expired', 'closed')",
            name=op.f("ck_leads_accepted_at"),
        ),
        sa.CheckConstraint(
            "status IN ('offered', 'accepted', 'declined', 'expired', 'quote_sent', 'quote_accepted', 'closed')",
            name=op.f("ck_leads_status"),
        ),
        sa.CheckConstraint("distance_miles >= 0", name=op.f("ck_leads_distance_nonnegative")),
        sa.CheckConstraint("price_pence >= 0", name=op.f("ck_leads_price_nonnegative")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_leads_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor_profiles.user_id"],
            name=op.f("fk_leads_vendor_id_vendor_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("job_id", "vendor_id", name="uq_leads_job_id_vendor_id"),
    )
    op.create_index("ix_leads_job_id_status", "leads", ["job_id", "status"], unique=False)
    op.create_index(
        "ix_leads_offered_expires_at",
        "leads",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'offered'"),
    )
    op.create_index(
        "ix_leads_vendor_id_offered_at",
        "leads",
        ["vendor_id", sa.literal_column("offered_at DESC")],
        unique=False,
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('top_up', 'escrow_fund', 'milestone_release', 'dispute_release', 'dispute_refund', 'withdrawal')",
            name=op.f("ck_ledger_transactions_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_ledger_transactions_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
    )
    op.create_index(
        "ix_ledger_transactions_job_id", "ledger_transactions", ["job_id"], unique=False
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.String(length=5000), nullable=True),
        sa.Column("recommend", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("moderation_reason", sa.String(length=500), nullable=True),
        sa.Column("vendor_response", sa.String(length=5000), nullable=True),
        sa.Column("vendor_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_reply", sa.String(length=5000), nullable=True),
        sa.Column("customer_replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('published', 'held', 'rejected')", name=op.f("ck_reviews_status")
        ),
        sa.CheckConstraint(
            "customer_reply IS NULL OR vendor_response IS NOT NULL",
            name=op.f("ck_reviews_reply_after_response"),
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_reviews_customer_id_users")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_reviews_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor_profiles.user_id"],
            name=op.f("fk_reviews_vendor_id_vendor_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("job_id", name=op.f("uq_reviews_job_id")),
    )
    op.create_index(
        "ix_reviews_held",
        "reviews",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'held'"),
    )
    op.create_index(
        "ix_reviews_vendor_id_created_at",
        "reviews",
        ["vendor_id", sa.literal_column("created_at DESC")],
        unique=False,
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_table(
        "vendor_trades",
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("trade", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "trade IN ('Plumbing', 'Electrical', 'Carpentry', 'Roofing', 'Painting & Decorating', 'Plastering', 'Tiling', 'Heating & Gas', 'Locksmith', 'Gardening', 'Building', 'Cleaning', 'Handyman')",
            name=op.f("ck_vendor_trades_trade"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor_profiles.user_id"],
            name=op.f("fk_vendor_trades_vendor_id_vendor_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", "trade", name=op.f("pk_vendor_trades")),
    )
    op.create_index(
        "ix_vendor_trades_trade_vendor_id", "vendor_trades", ["trade", "vendor_id"], unique=False
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('open', 'locked', 'archived')", name=op.f("ck_conversations_status")
        ),
        sa.CheckConstraint("message_count >= 0", name=op.f("ck_conversations_message_count")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_conversations_customer_id_users")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_conversations_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_conversations_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["users.id"], name=op.f("fk_conversations_vendor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("job_id", "vendor_id", name="uq_conversations_job_id_vendor_id"),
        sa.UniqueConstraint("lead_id", name=op.f("uq_conversations_lead_id")),
    )
    op.create_index(
        "ix_conversations_customer_id_last_message_at",
        "conversations",
        ["customer_id", sa.literal_column("last_message_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_conversations_vendor_id_last_message_at",
        "conversations",
        ["vendor_id", sa.literal_column("last_message_at DESC")],
        unique=False,
    )
    op.create_table(
        "event_audience",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["event_log.seq"], name=op.f("fk_event_audience_seq_event_log")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_event_audience_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "seq", name=op.f("pk_event_audience")),
    )
    op.create_index("ix_event_audience_seq", "event_audience", ["seq"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount_pence <> 0", name=op.f("ck_ledger_entries_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_account_id", "ledger_entries", ["account_id"], unique=False)
    op.create_index(
        "ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"], unique=False
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('in_app', 'email', 'push')", name=op.f("ck_notifications_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dead')", name=op.f("ck_notifications_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event_log.id"], name=op.f("fk_notifications_event_id_event_log")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "event_id", "user_id", "channel", name="uq_notifications_event_user_channel"
        ),
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notifications_user_id_channel_created_at",
        "notifications",
        ["user_id", "channel", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=True),
        sa.Column("estimated_duration", sa.String(length=120), nullable=True),
        sa.Column("milestone_plan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected', 'withdrawn', 'expired')",
            name=op.f("ck_quotes_status"),
        ),
        sa.CheckConstraint(
            "amount_pence > 0 AND amount_pence <= 100000000", name=op.f("ck_quotes_amount")
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_quotes_job_id_jobs")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_quotes_lead_id_leads")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor_profiles.user_id"],
            name=op.f("fk_quotes_vendor_id_vendor_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_index("ix_quotes_job_id_created_at", "quotes", ["job_id", "created_at"], unique=False)
    op.create_index("ix_quotes_lead_id", "quotes", ["lead_id"], unique=False)
    op.create_index(
        "ix_quotes_vendor_id_created_at",
        "quotes",
        ["vendor_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "uq_quotes_job_id_accepted",
        "quotes",
        ["job_id"],
        unique=True,
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.create_index(
        "uq_quotes_job_id_vendor_id_pending",
        "quotes",
        ["job_id", "vendor_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "conversation_reads",
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("last_read_position", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("last_read_position >= 0", name=op.f("ck_conversation_reads_position")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_reads_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_conversation_reads_user_id_users")
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_conversation_reads")),
    )
    op.create_table(
        "escrow_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("vendor_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=24), server_default="pending", nullable=False),
        sa.Column("total_pence", sa.BigInteger(), nullable=False),
        sa.Column("funded_pence", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("released_pence", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_pence", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'held', 'partial_released', 'released', 'disputed', 'refunded')",
            name=op.f("ck_escrow_accounts_status"),
        ),
        sa.CheckConstraint(
            "funded_pence >= 0 AND released_pence >= 0 AND refunded_pence >= 0 AND funded_pence <= total_pence AND released_pence + refunded_pence <= funded_pence",
            name=op.f("ck_escrow_accounts_amounts"),
        ),
        sa.CheckConstraint(
            "total_pence > 0 AND total_pence <= 100000000", name=op.f("ck_escrow_accounts_total")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_escrow_accounts_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_escrow_accounts_job_id_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_escrow_accounts_quote_id_quotes")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["users.id"], name=op.f("fk_escrow_accounts_vendor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_accounts")),
        sa.UniqueConstraint("job_id", name=op.f("uq_escrow_accounts_job_id")),
        sa.UniqueConstraint("quote_id", name=op.f("uq_escrow_accounts_quote_id")),
    )
    op.create_index(
        "ix_escrow_accounts_customer_id", "escrow_accounts", ["customer_id"], unique=False
    )
    op.create_index("ix_escrow_accounts_vendor_id", "escrow_accounts", ["vendor_id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.String(length=5000), nullable=True),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("quote_id", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'system') = (sender_id IS NULL) OR kind = 'quote_reference'",
            name=op.f("ck_messages_sender"),
        ),
        sa.CheckConstraint(
            "kind IN ('text', 'system', 'attachment', 'quote_reference')",
            name=op.f("ck_messages_kind"),
        ),
        sa.CheckConstraint(
            "body IS NOT NULL OR jsonb_array_length(attachments) > 0",
            name=op.f("ck_messages_content"),
        ),
        sa.CheckConstraint("position > 0", name=op.f("ck_messages_position")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_messages_quote_id_quotes")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["users.id"], name=op.f("fk_messages_sender_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "conversation_id", "position", name="uq_messages_conversation_id_position"
        ),
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("escrow_id", sa.String(length=40), nullable=False),
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), server_default="pending", nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("changes_reason", sa.String(length=5000), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status = 'pending' OR evidence IS NOT NULL", name=op.f("ck_milestones_evidence")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'submitted', 'changes_requested', 'approved', 'released')",
            name=op.f("ck_milestones_status"),
        ),
        sa.CheckConstraint("amount_pence > 0", name=op.f("ck_milestones_amount")),
        sa.CheckConstraint("position > 0", name=op.f("ck_milestones_position")),
        sa.ForeignKeyConstraint(
            ["escrow_id"],
            ["escrow_accounts.id"],
            name=op.f("fk_milestones_escrow_id_escrow_accounts"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_milestones_job_id_jobs")),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_milestones_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        sa.UniqueConstraint("job_id", "position", name="uq_milestones_job_id_position"),
    )
    op.create_index("ix_milestones_escrow_id", "milestones", ["escrow_id"], unique=False)
    op.create_index(
        "ix_milestones_submitted_at",
        "milestones",
        ["submitted_at"],
        unique=False,
        postgresql_where=sa.text("status = 'submitted'"),
    )


def _drop_tables() -> None:
    op.drop_index(
        "ix_milestones_submitted_at",
        table_name="milestones",
        postgresql_where=sa.text("status = 'submitted'"),
    )
    op.drop_index("ix_milestones_escrow_id", table_name="milestones")
    op.drop_table("milestones")
    op.drop_table("messages")
    op.drop_index("ix_escrow_accounts_vendor_id", table_name="escrow_accounts")
    op.drop_index("ix_escrow_accounts_customer_id", table_name="escrow_accounts")
    op.drop_table("escrow_accounts")
    op.drop_table("conversation_reads")
    op.drop_index(
        "uq_quotes_job_id_vendor_id_pending",
        table_name="quotes",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        "uq_quotes_job_id_accepted",
        table_name="quotes",
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.drop_index("ix_quotes_vendor_id_created_at", table_name="quotes")
    op.drop_index("ix_quotes_lead_id", table_name="quotes")
    op.drop_index("ix_quotes_job_id_created_at", table_name="quotes")
    op.drop_table("quotes")
    op.drop_index("ix_notifications_user_id_channel_created_at", table_name="notifications")
    op.drop_index(
        "ix_notifications_due",
        table_name="notifications",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("notifications")
    op.drop_index("ix_ledger_entries_transaction_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_account_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_event_audience_seq", table_name="event_audience")
    op.drop_table("event_audience")
    op.drop_index("ix_conversations_vendor_id_last_message_at", table_name="conversations")
    op.drop_index("ix_conversations_customer_id_last_message_at", table_name="conversations")
    op.drop_table("conversations")
    op.drop_index("ix_vendor_trades_trade_vendor_id", table_name="vendor_trades")
    op.drop_table("vendor_trades")
    op.drop_index(
        "ix_reviews_vendor_id_created_at",
        table_name="reviews",
        postgresql_where=sa.text("status = 'published'"),
    )
    op.drop_index(
        "ix_reviews_held", table_name="reviews", postgresql_where=sa.text("status = 'held'")
    )
    op.drop_table("reviews")
    op.drop_index("ix_ledger_transactions_job_id", table_name="ledger_transactions")
    op.drop_table("ledger_transactions")
    op.drop_index("ix_leads_vendor_id_offered_at", table_name="leads")
    op.drop_index(
        "ix_leads_offered_expires_at",
        table_name="leads",
        postgresql_where=sa.text("status = 'offered'"),
    )
    op.drop_index("ix_leads_job_id_status", table_name="leads")
    op.drop_table("leads")
    op.drop_index("ix_event_log_job_id_seq", table_name="event_log")
    op.drop_table("event_log")
    op.drop_index(
        "uq_disputes_job_id_open",
        table_name="disputes",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_disputes_status_created_at", table_name="disputes")
    op.drop_table("disputes")
    op.drop_index(
        "ix_vendor_profiles_outcode_accepting",
        table_name="vendor_profiles",
        postgresql_where=sa.text("accepting_leads"),
    )
    op.drop_table("vendor_profiles")
    op.drop_index("ix_push_subscriptions_user_id", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_table("notification_preferences")
    op.drop_index(
        "ix_jobs_live_published_at", table_name="jobs", postgresql_where=sa.text("status = 'live'")
    )
    op.drop_index("ix_jobs_customer_id_created_at", table_name="jobs")
    op.drop_index(
        "ix_jobs_completed_at", table_name="jobs", postgresql_where=sa.text("status = 'completed'")
    )
    op.drop_table("jobs")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_outcodes_latitude_longitude", table_name="outcodes")
    op.drop_table("outcodes")
    op.drop_index("ix_login_attempts_bucket_created_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("uq_ledger_accounts_kind_owner_ref", table_name="ledger_accounts")
    op.drop_table("ledger_accounts")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
