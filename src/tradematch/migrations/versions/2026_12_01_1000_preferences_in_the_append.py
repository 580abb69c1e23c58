"""Notification preferences are applied where the notification rows are written.

``tm_notification_wanted(user, channel, category)`` is the one statement of the rule: a
notification goes to an active account, on a channel it has not turned off, in a category it
has not turned off on that channel, and by push only to an account with a push subscription.
``tm_append_events`` applies it to the rows it inserts, so an event flush no longer reads the
recipients' preferences first: one round trip instead of two, whatever the number of events.
Replays insert through the same function.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WANTED = """
CREATE FUNCTION tm_notification_wanted(recipient text, channel text, category text)
RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = recipient AND u.is_active)
     AND NOT EXISTS (
       SELECT 1 FROM notification_preferences p
       WHERE p.user_id = recipient AND p.channel = tm_notification_wanted.channel
         AND NOT p.enabled)
     AND NOT EXISTS (
       SELECT 1 FROM notification_category_preferences c
       WHERE c.user_id = recipient AND c.channel = tm_notification_wanted.channel
         AND c.category = tm_notification_wanted.category AND NOT c.enabled)
     AND (channel <> 'push'
          OR EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = recipient))
$$
"""


# ``tm_append_events`` as migration 0009 made it, the notification rows filtered by ``WANTED``.
APPEND = """
CREATE OR REPLACE FUNCTION tm_append_events(
  events jsonb, notifications jsonb, inputs jsonb, channel text
) RETURNS bigint LANGUAGE plpgsql AS $$
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
  -- wanted --
  ON CONFLICT ON CONSTRAINT uq_notifications_event_user_channel DO NOTHING;

  PERFORM pg_notify(channel, position::text);
  RETURN position;
END
$$
"""


FILTER = "WHERE tm_notification_wanted(x->>'user_id', x->>'channel', x->>'category')"


def upgrade() -> None:
    op.execute(WANTED)
    op.execute(APPEND.replace("-- wanted --", FILTER))


def downgrade() -> None:
    op.execute(APPEND.replace("-- wanted --", ""))
    op.execute("DROP FUNCTION IF EXISTS tm_notification_wanted(text, text, text)")
