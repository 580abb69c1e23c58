"""Milestone evidence cannot change once submitted (except by a resubmission after the customer
asked for changes), enforced by the database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 11:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION tm_milestone_evidence_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.evidence IS NOT NULL AND NEW.evidence IS DISTINCT FROM OLD.evidence
     AND NOT (OLD.status = 'changes_requested' AND NEW.status = 'submitted') THEN
    RAISE EXCEPTION 'milestone % evidence cannot change after submission', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER milestones_evidence_fixed BEFORE UPDATE OF evidence ON milestones "
        "FOR EACH ROW EXECUTE FUNCTION tm_milestone_evidence_fixed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS milestones_evidence_fixed ON milestones")
    op.execute("DROP FUNCTION IF EXISTS tm_milestone_evidence_fixed()")
