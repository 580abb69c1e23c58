"""Email notifications reach a real SMTP server, or the outbox folder when none is configured."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from tests.flows.apps import app_for, dispatching, eventually, make_settings
from tests.flows.database import Database, fetch
from tests.flows.peers import SmtpPeer, smtp_server
from tests.flows.users import marketplace

EMAILS = "SELECT * FROM notifications WHERE channel = 'email' ORDER BY id"


async def test_email_reaches_a_real_smtp_server(fresh_db: Database, tmp_path: Path) -> None:
    peer = SmtpPeer()
    async with smtp_server(peer) as port:
        settings = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
        async with app_for(fresh_db, settings) as (app, api):
            market = await marketplace(api, vendors=2)
            queued = await fetch(fresh_db, EMAILS)
            assert {r["user_id"] for r in queued} == {v.user_id for v in market.vendors}
            async with dispatching(app):

                async def all_sent() -> bool:
                    return all(r["status"] == "sent" for r in await fetch(fresh_db, EMAILS))

                await eventually(all_sent, what="emails sent")

    by_id = {r.message_id: r for r in peer.accepted}
    assert len(peer.accepted) == len(queued) == 2
    emails = {v.user_id: v.email for v in market.vendors}
    for row in queued:
        received = by_id[f"<{row['id']}@tradematch.local>"]
        assert received.rcpt_tos == [emails[row["user_id"]]]
        assert received.mail_from == "notifications@tradematch.local"
        message = received.message
        assert emails[row["user_id"]] in message["To"]
        assert message["Subject"] == "New lead"
        assert message["X-TradeMatch-Notification-ID"] == row["id"]
        assert message["X-TradeMatch-Event-ID"] == row["event_id"]
        body = message.get_body(("plain",))
        assert body is not None
        assert row["body"].startswith("New lead: Fix leaking")  # the seed's text
        assert body.get_content().replace("\r\n", "\n").startswith(row["body"] + "\n")
    sent = await fetch(fresh_db, EMAILS)
    assert all(r["attempts"] == 1 and r["sent_at"] is not None for r in sent)


async def test_without_smtp_each_email_is_an_eml_file_in_the_outbox(
    fresh_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    assert settings.smtp_host is None
    async with app_for(fresh_db, settings) as (app, api):
        market = await marketplace(api, vendors=2)
        await api.accept(market.vendors[0], market.leads[market.vendors[0].user_id])
        async with dispatching(app):

            async def all_sent() -> bool:
                return all(r["status"] == "sent" for r in await fetch(fresh_db, EMAILS))

            await eventually(all_sent, what="emails written")

    queued = await fetch(fresh_db, EMAILS)
    assert len(queued) == 4  # two new leads, then "accepted" to the customer and the vendor
    outbox = tmp_path / "outbox"
    files = sorted(outbox.iterdir())
    assert [f.name for f in files] == sorted(f"{r['id']}.eml" for r in queued)
    for row in queued:
        message = message_from_bytes(
            (outbox / f"{row['id']}.eml").read_bytes(), policy=policy.default
        )
        assert message["Message-ID"] == f"<{row['id']}@tradematch.local>"
        assert message["Subject"] == row["title"]
    subjects = sorted(r["title"] for r in queued)
    assert subjects == ["Lead accepted", "Lead accepted", "New lead", "New lead"]
