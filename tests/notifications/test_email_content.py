"""Emails people act on: a text and an HTML part saying what the notification is about (masked
as the recipient's API view), a link to the right dashboard page, and a one-click unsubscribe
(RFC 8058) that works without signing in."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import get_args
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError

from tests.flows.apps import app_for, dispatching, eventually, make_settings
from tests.flows.database import Database, fetch
from tests.flows.peers import SmtpPeer, smtp_server
from tests.flows.users import Api, marketplace
from tradematch.core.config import Settings
from tradematch.notifications import unsubscribe
from tradematch.notifications.rules import CATEGORY_OF, DEFAULT_CATEGORY, category_of
from tradematch.notifications.schemas import Category
from tradematch.notifications.states import CATEGORIES

PUBLIC = "https://trade.example/app"
RAW = policy.default.clone(max_line_length=0)  # as received: no refolding
EMAILS = "SELECT * FROM notifications WHERE channel = 'email' ORDER BY id"
PREFERENCES = "/api/connection/notifications/preferences"
# Contact details a customer typed into the job: a vendor who has not accepted never sees them.
DESCRIPTION = "Tap drips <all day> & night. Call me on 07700 900461 or jo.bloggs@example.org"


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    assert isinstance(plain, EmailMessage) and isinstance(rich, EmailMessage)
    return str(plain.get_content()), str(rich.get_content())


def unsubscribe_path(message: EmailMessage) -> str:
    """The List-Unsubscribe link, checked, as a path on the test client."""
    header = str(message["List-Unsubscribe"])
    # Verbatim on the wire: no RFC 2047 encoded words (providers do not decode them there).
    assert f"\nList-Unsubscribe: {header}\n" in message.as_string(policy=RAW)
    assert header.startswith(f"<{PUBLIC}{unsubscribe.PATH}?token=") and header.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = urlsplit(header[1:-1])
    assert url.scheme == "https" and url.netloc == "trade.example"
    return url.path.removeprefix("/app") + "?" + url.query


async def email_categories(api: Api, headers: dict[str, str]) -> dict[str, bool]:
    response = await api.client.get(PREFERENCES, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] is True
    return dict(body["email_categories"])


async def test_a_new_lead_email_is_masked_links_the_lead_and_unsubscribes_in_one_click(
    fresh_db: Database, tmp_path: Path
) -> None:
    peer = SmtpPeer()
    async with smtp_server(peer) as port:
        settings = make_settings(
            tmp_path, smtp_host="127.0.0.1", smtp_port=port, public_url=PUBLIC + "/"
        )
        async with app_for(fresh_db, settings) as (app, api):
            market = await marketplace(api, vendors=1, description=DESCRIPTION)
            [vendor] = market.vendors
            lead_id = market.leads[vendor.user_id]
            async with dispatching(app):

                async def sent() -> bool:
                    rows = await fetch(fresh_db, EMAILS)
                    return bool(rows) and all(r["status"] == "sent" for r in rows)

                await eventually(sent, what="the new lead emailed")
            [received] = peer.accepted
            message = received.message
            assert received.rcpt_tos == [vendor.email]
            assert message["Subject"] == "New lead"
            text, html = parts(message)

            # What it is about: the vendor's LeadPreview, as GET /leads/{id} shows it.
            preview = (
                await api.client.get(f"/api/connection/leads/{lead_id}", headers=vendor.headers)
            ).json()
            assert preview["contact_unlocked"] is False
            outcode = market.customer.postcode.split()[0]
            assert preview["outcode"] == outcode
            for part in (text, html):
                assert "New lead: Fix leaking" in part
                assert outcode in part
                assert "£50 to £150" in part
                assert "Plumbing" in part
                # Never the customer: not their name, phone, email or full postcode, nor the
                # contact details typed into the description (redacted as in the API view).
                for secret in (
                    market.customer.name,
                    market.customer.phone,
                    market.customer.email,
                    market.customer.postcode,
                    "07700 900461",
                    "900461",
                    "jo.bloggs",
                    "example.org",
                ):
                    assert secret not in part, secret
            assert preview["description"] in text
            assert "Tap drips <all day> & night." in text
            # HTML escaped: the customer's text cannot add markup.
            assert "Tap drips &lt;all day&gt; &amp; night." in html
            assert "<all day>" not in html

            # The link: the lead's page of the vendor dashboard (web/js/vendor/app.js).
            link = f"{PUBLIC}/#/leads/{lead_id}"
            assert f"View the lead: {link}" in text
            assert f'href="{link}"' in html
            path = unsubscribe_path(message)
            assert str(message["List-Unsubscribe"])[1:-1] in text  # also in the footer

            # GET shows a confirmation page and changes nothing (mail scanners follow links).
            page = await api.client.get(path)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            assert 'method="post"' in page.text and "new leads" in page.text
            assert f'href="{PUBLIC}/#/notifications"' in page.text  # where to turn it back on
            assert (await email_categories(api, vendor.headers))["leads"] is True

            # A forged or altered token is not found, GET or POST, and changes nothing.
            token = parse_qs(urlsplit(path).query)["token"][0]
            user_id, category, signature = token.split(".")
            flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
            forged = [
                f"{user_id}.{category}.{flipped}",
                f"{user_id}.messages.{signature}",  # another category, same signature
                f"{market.customer.user_id}.{category}.{signature}",  # another user
                "garbage",
            ]
            for bad in forged:
                for method in ("GET", "POST"):
                    response = await api.client.request(
                        method, unsubscribe.PATH, params={"token": bad}
                    )
                    assert response.status_code == 404, (bad, response.text)
                    assert response.json()["code"] == "NOT_FOUND"
            assert (await email_categories(api, vendor.headers))["leads"] is True

            # POST, as a mail provider does it (RFC 8058): no sign-in, the one-click body; sent
            # several times at once (providers retry): the same answer, one setting.
            async def one_click() -> httpx.Response:
                return await api.client.post(
                    path,
                    content="List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )

            for done in await asyncio.gather(*(one_click() for _ in range(4))):
                assert done.status_code == 200, done.text
                assert "no longer get emails about new leads" in done.text
                assert f'href="{PUBLIC}/#/notifications"' in done.text
            categories = await email_categories(api, vendor.headers)
            assert categories["leads"] is False
            assert all(on for name, on in categories.items() if name != "leads")

            # No further email of that category: another job offers the vendor a new lead,
            # which is in the app but not emailed.
            job = await api.create_job(market.customer, title="Replace bathroom sink trap")
            await api.publish(market.customer, job["job_id"])
            rows = await fetch(
                fresh_db,
                "SELECT n.channel FROM notifications n JOIN event_log e ON e.id = n.event_id"
                " WHERE n.user_id = $1 AND e.job_id = $2",
                vendor.user_id,
                job["job_id"],
            )
            assert [r["channel"] for r in rows] == ["in_app"]

            # The user can turn it back on in the preferences.
            again = await api.client.put(
                PREFERENCES, json={"email_categories": {"leads": True}}, headers=vendor.headers
            )
            assert again.status_code == 200, again.text
            assert again.json()["email_categories"]["leads"] is True


async def test_the_outbox_folder_holds_the_same_multipart_email(
    fresh_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, public_url=PUBLIC)
    assert settings.smtp_host is None
    async with app_for(fresh_db, settings) as (app, api):
        market = await marketplace(api, vendors=1, description=DESCRIPTION)
        [vendor] = market.vendors
        lead_id = market.leads[vendor.user_id]
        await api.accept(vendor, lead_id)
        async with dispatching(app):

            async def written() -> bool:
                rows = await fetch(fresh_db, EMAILS)
                return len(rows) == 3 and all(r["status"] == "sent" for r in rows)

            await eventually(written, what="emails written")
        rows = await fetch(fresh_db, EMAILS)
        for row in rows:
            raw = (tmp_path / "outbox" / f"{row['id']}.eml").read_bytes()
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            text, html = parts(message)
            assert row["body"] in text
            path = unsubscribe_path(message)
            if row["user_id"] == market.customer.user_id:
                # "Vendor accepted your job": the customer's job page (web/js/customer/app.js).
                link = f"{PUBLIC}/#/jobs/{market.job_id}"
                assert "Your job" in text and "Fix leaking kitchen tap" in text
            else:
                # Sent after the vendor accepted: its API view now has the customer's contact.
                link = f"{PUBLIC}/#/leads/{lead_id}"
                assert market.customer.phone in text
            assert link in text and f'href="{link}"' in html
            page = await api.client.get(path)
            assert page.status_code == 200


def test_unsubscribe_tokens_name_one_user_and_category_and_are_signed() -> None:
    key = "a-signing-key-of-the-app-long-enough-for-hmac"
    token = unsubscribe.token(key, "usr_01", "quotes")
    assert unsubscribe.read(key, token) == ("usr_01", "quotes")
    assert unsubscribe.read("another-key-entirely-and-long-enough!", token) is None
    assert unsubscribe.read(key, token.replace("quotes", "reviews")) is None
    assert unsubscribe.read(key, token + "x") is None
    assert unsubscribe.read(key, "usr_01.nonsense." + token.split(".")[2]) is None
    assert unsubscribe.read(key, "") is None


def test_public_url_is_an_http_url_without_a_trailing_slash(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).public_url == "http://127.0.0.1:8000"
    assert Settings(data_dir=tmp_path, public_url="https://x.example/tm/").public_url == (
        "https://x.example/tm"
    )
    for bad in ("ftp://x.example", "x.example", "https://", "https://x.example/?a=1"):
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path, public_url=bad)


def test_every_category_is_named_once_everywhere() -> None:
    assert set(CATEGORY_OF.values()) | {DEFAULT_CATEGORY} == set(CATEGORIES)
    assert get_args(Category) == CATEGORIES
    assert set(unsubscribe.CATEGORY_NAMES) == set(CATEGORIES)
    assert category_of("LEAD_OFFERED") == "leads"
    # Every event that moves a user's money is a payment, refunds and payouts included.
    for money in ("PAYMENT_RELEASED", "PAYMENT_REFUNDED", "PAYOUT_SENT", "ESCROW_FUNDED"):
        assert category_of(money) == "payments", money
    assert category_of("NOT_AN_EVENT") == category_of("JOB_CREATED") == "updates"
