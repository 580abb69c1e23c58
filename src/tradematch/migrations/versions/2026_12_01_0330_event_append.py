"""The event log is written by one server-side function, and ordered by transaction id.

``tm_append_events`` does in one round trip what ``events.log.flush`` did in nine: it locks each
chain the transaction extends (per job, not globally), numbers the events, extends each job's
hash chain (SHA-256 over the canonical text, which the application hands over in pieces so the
hash is byte for byte the one ``events.chain`` computes), inserts the events, their audience, the
notification rows and their inputs, and NOTIFYs the listeners.

An event's ``seq`` is now its *position*: ``xid8 * 65536 + ordinal`` of the transaction that
wrote it. Readers return only events whose position is below ``tm_event_horizon()`` (the
oldest xid the snapshot sees in progress in this database, or its xmax, times 65536): every
transaction that could still add an event has an xid at or above it, so no event can ever
commit behind a reader's cursor, and no lock is held across COMMIT
(docs/decisions.md, "Event order without a commit lock"). Positions of earlier events (drawn from
``event_log_seq``) are all below the first new one: each of those transactions wrote fewer than
65536 events, so ``seq < 65536 * (number of earlier writing transactions) <= 65536 * xid``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HORIZON = """
-- Every event with a lower position is committed (or never will be): no transaction still
-- running in this database has a lower xid. Taken from the statement's snapshot: below its
-- xmax, the xids it sees in progress, less those of backends connected to another database
-- (they cannot write this log; an xid not found there, say one that ended meanwhile, counts).
-- STABLE: one value per statement.
CREATE FUNCTION tm_event_horizon() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT least(
    pg_snapshot_xmax(s.snap)::text::bigint,
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s.snap) AS x
     WHERE NOT EXISTS (
       SELECT 1 FROM pg_stat_activity a
       WHERE a.backend_xid = x::xid AND a.datname IS DISTINCT FROM current_database()))
  ) * 65536
  FROM (SELECT pg_current_snapshot() AS snap) s
$$
"""

APPEND = """
CREATE FUNCTION tm_append_events(events jsonb, notifications jsonb, inputs jsonb, channel text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  base bigint := (pg_current_xact_id()::text::bigint) * 65536;
  ordinal bigint;
  position bigint;
  e jsonb;
  head_index integer;
  head_hash text;
  digest text;
BEGIN
  -- One lock per chain extended, taken in a fixed order (no deadlock between flushes) and held
  -- to COMMIT, so that two transactions never extend the same chain from the same head.
  PERFORM pg_advisory_xact_lock(7431003, k)
  FROM (
    SELECT DISTINCT hashtext(coalesce(x->>'job_id', '')) AS k
    FROM jsonb_array_elements(events) AS x
    ORDER BY 1
  ) chains;

  SELECT coalesce(max(l.seq) - base, 0) INTO ordinal
  FROM event_log l WHERE l.seq > base AND l.seq < base + 65536;

  FOR e IN SELECT x FROM jsonb_array_elements(events) WITH ORDINALITY AS t(x, n) ORDER BY n LOOP
    ordinal := ordinal + 1;
    IF ordinal > 65535 THEN
      RAISE EXCEPTION 'more than 65535 events in one transaction';
    END IF;
    position := base + ordinal;
    IF e->>'job_id' IS NULL THEN
      SELECT l.chain_index, l.hash INTO head_index, head_hash FROM event_log l
      WHERE l.job_id IS NULL ORDER BY l.chain_index DESC LIMIT 1;
    ELSE
      SELECT l.chain_index, l.hash INTO head_index, head_hash FROM event_log l
      WHERE l.job_id = e->>'job_id' ORDER BY l.chain_index DESC LIMIT 1;
    END IF;
    head_index := coalesce(head_index, 0) + 1;
    digest := encode(sha256(convert_to(
      (e->'parts'->>0) || head_index::text
      || (e->'parts'->>1) || coalesce('"' || head_hash || '"', 'null')
      || (e->'parts'->>2) || position::text
      || (e->'parts'->>3), 'UTF8')), 'hex');
    INSERT INTO event_log (seq, id, type, job_id, actor_id, actor_role, payload,
                           idempotency_key, created_at, chain_index, prev_hash, hash)
    VALUES (position, e->>'id', e->>'type', e->>'job_id', e->>'actor_id', e->>'actor_role',
            e->'payload', e->>'idempotency_key', (e->>'created_at')::timestamptz, head_index,
            head_hash, digest);
    INSERT INTO event_audience (user_id, seq)
    SELECT a, position FROM jsonb_array_elements_text(e->'audience') AS a;
  END LOOP;

  INSERT INTO notification_inputs (event_id, context)
  SELECT x->>'event_id', x->'context' FROM jsonb_array_elements(inputs) AS x
  ON CONFLICT (event_id) DO NOTHING;
  INSERT INTO notifications (id, event_id, user_id, channel, title, body)
  SELECT x->>'id', x->>'event_id', x->>'user_id', x->>'channel', x->>'title', x->>'body'
  FROM jsonb_array_elements(notifications) AS x
  ON CONFLICT ON CONSTRAINT uq_notifications_event_user_channel DO NOTHING;

  PERFORM pg_notify(channel, position::text);
  RETURN position;
END
$$
"""


def upgrade() -> None:
    # Guard the claim above: positions from here on must sort after every existing event.
    op.execute(
        """
DO $$
BEGIN
  IF (SELECT coalesce(max(seq), 0) FROM event_log)
     >= (pg_current_xact_id()::text::bigint) * 65536 THEN
    RAISE EXCEPTION 'event_log.seq is beyond the first transaction position';
  END IF;
END
$$
"""
    )
    op.execute(HORIZON)
    op.execute(APPEND)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS tm_append_events(jsonb, jsonb, jsonb, text)")
    op.execute("DROP FUNCTION IF EXISTS tm_event_horizon()")
    op.execute("SELECT setval('event_log_seq', greatest((SELECT max(seq) FROM event_log), 1))")
