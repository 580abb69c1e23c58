"""The seed's nine steps through the dashboards only, customer and tradespeople side by side in
their own browser contexts: every change one party makes appears on the other's open page
without a reload, within 2 seconds."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import expect

from tests.flows.browser import LIVE_TIMEOUT_MS, Site, Tab, open_tab, signed_in
from tests.flows.deals import awarded_job
from tests.flows.files import jpeg_with_gps, png
from tests.flows.users import new_area, postcode_in

pytestmark = pytest.mark.browser


NO_LONGER_AVAILABLE = "This job is no longer available"


def live(locator: Any) -> Any:
    """Expect on the other party's page: visible within 2 s, without a reload."""
    return expect(locator).to_be_visible(timeout=LIVE_TIMEOUT_MS)


async def sign_up(tab: Tab, role: str, name: str, postcode: str, business: str = "") -> str:
    page = tab.page
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    await page.get_by_role("button", name="Create an account").click()
    if role == "vendor":
        await page.get_by_label("Tradesperson", exact=True).check()
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("correct-horse-battery")
    await page.get_by_label("Phone").fill("07700 900461")
    await page.get_by_label("Postcode").fill(postcode)
    if role == "vendor":
        await page.get_by_label("Business name").fill(business)
        await page.get_by_label("Plumbing").check()
        await page.get_by_label("Service radius (miles)").fill("10")
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("button", name="Sign out").wait_for()
    return email


async def test_the_nine_steps_live_between_two_browsers(browser: Any, site: Site) -> None:
    area = new_area()
    customer = await open_tab(browser, site.base_url)
    vendor = await open_tab(browser, site.base_url)
    await sign_up(customer, "customer", "Cathy Customer", postcode_in(area))
    await sign_up(vendor, "vendor", "Pat Plumber", postcode_in(area, "2BB"), "Pat's Plumbing")
    # A second plumber nearby, set up through the API: it will hold a lead on the same job.
    rival_user = await site.api.vendor(
        postcode=postcode_in(area, "3CC"), business_name="Rival Pipes", radius=10
    )
    rival = await signed_in(browser, site, rival_user)
    c, v, r = customer.page, vendor.page, rival.page

    # 1. The customer posts a job; it reaches both plumbers' open lead inboxes.
    await c.get_by_role("link", name="Post a job").first.click()
    await c.get_by_label("Title").fill("Fix leaking kitchen tap")
    await c.get_by_label("Trade").select_option("Plumbing")
    await c.get_by_label("Budget from (£)").fill("50")
    await c.get_by_label("Budget up to (£)").fill("150")
    await c.get_by_label("Timeframe").select_option("urgent")
    await c.get_by_label("Photos of the job", exact=True).set_input_files(
        {"name": "tap.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
    )
    await expect(c.get_by_role("img", name="Photo 1", exact=True)).to_be_visible()
    await c.get_by_role("button", name="Post job").click()
    await expect(c.get_by_role("heading", name="Fix leaking kitchen tap")).to_be_visible()
    await expect(c.get_by_text("Live", exact=True).first).to_be_visible()
    await live(v.get_by_role("link", name="Fix leaking kitchen tap"))
    await live(r.get_by_role("link", name="Fix leaking kitchen tap"))
    await expect(c.get_by_role("img", name="Job photo 1")).to_be_visible()

    # 2. The plumber accepts the lead: the customer sees who, with contact details.
    await v.get_by_role("link", name="Fix leaking kitchen tap").click()
    await expect(v.get_by_role("img", name="Job photo 1")).to_be_visible()  # seen before accepting
    await v.get_by_role("button", name="Accept lead").click()
    await expect(v.get_by_text("Cathy Customer").first).to_be_visible()
    await live(c.get_by_text("Pat's Plumbing").first)
    await live(c.get_by_text("07700900461").first)
    # The rival accepts too, and keeps its lead page open.
    await r.get_by_role("link", name="Fix leaking kitchen tap").click()
    await r.get_by_role("button", name="Accept lead").click()
    await expect(r.get_by_label("Quote amount (£)")).to_be_visible()

    # 3. Messages both ways.
    await v.get_by_label("Message to Cathy Customer").fill("Can you confirm the exact timing?")
    await v.get_by_role("button", name="Send message").click()
    await c.get_by_role("button", name="Messages with Pat's Plumbing").click()
    log = c.get_by_role("log", name="Messages — Pat's Plumbing")
    await live(log.get_by_text("Can you confirm the exact timing?"))
    await c.get_by_label("Message to Pat's Plumbing").fill("Tomorrow at 9 works for me.")
    await c.get_by_label("Attach photos", exact=True).set_input_files(
        {"name": "under-sink.png", "mimeType": "image/png", "buffer": png()}
    )
    await expect(c.get_by_role("img", name="Photo 1", exact=True)).to_be_visible()
    await c.get_by_role("button", name="Send message").click()
    await live(v.get_by_role("log").get_by_text("Tomorrow at 9 works for me."))
    await live(v.get_by_role("log").get_by_role("img", name="Attached photo 1"))

    # 4. The plumber quotes £120 with two milestones; the rival quotes £150.
    await v.get_by_label("Quote amount (£)").fill("120")
    await v.get_by_label("What the quote covers").fill("New washer installed, tested")
    await v.get_by_label("Estimated duration").fill("2 hours")
    await v.get_by_role("button", name="Add milestone").click()
    await v.get_by_label("Milestone 1 title").fill("Replace washer and test")
    await v.get_by_label("Milestone 1 amount (£)").fill("120")
    await v.get_by_role("button", name="Send quote").click()
    await live(c.get_by_role("button", name="Accept quote from Pat's Plumbing"))
    await expect(c.get_by_text("Replace washer and test — £120.00")).to_be_visible()
    await r.get_by_label("Quote amount (£)").fill("150")
    await r.get_by_role("button", name="Send quote").click()
    await live(c.get_by_role("button", name="Accept quote from Rival Pipes"))

    # 5. The customer accepts Pat's quote: Pat sees the award, the rival only that the job is gone.
    await c.get_by_role("button", name="Accept quote from Pat's Plumbing").click()
    await live(v.get_by_role("heading", name="Escrow"))
    await live(r.get_by_role("heading", name=NO_LONGER_AVAILABLE))
    rival_text = await r.locator("body").inner_text()
    assert "Pat" not in rival_text and "120" not in rival_text, rival_text
    winner_id = await user_id(vendor)
    for response in rival.responses:
        if "/api/" in response.url and response.request.method == "GET":
            body = await response.text()
            assert "Pat's Plumbing" not in body and winner_id not in body, response.url

    # 6. Funding: too little in the wallet (402) opens a top-up; the retry uses the same key.
    fund_keys: list[str] = []

    def note_fund_key(req: Any) -> None:
        if req.url.endswith("/escrow/fund"):
            fund_keys.append(req.headers.get("idempotency-key", ""))

    c.on("request", note_fund_key)
    await c.get_by_role("button", name="Pay £120.00 into escrow").click()
    await expect(
        c.get_by_role("alert").filter(has_text="Not enough in your wallet")
    ).to_be_visible()
    await expect(c.get_by_label("Top-up amount (£)")).to_have_value("120")
    await c.get_by_role("button", name="Top up and pay").click()
    escrow = c.get_by_role("region", name="Escrow")
    await expect(escrow.get_by_text("Held", exact=True)).to_be_visible()
    assert len(fund_keys) == 2 and fund_keys[0] and fund_keys[0] == fund_keys[1], fund_keys
    await live(v.get_by_role("region", name="Escrow").get_by_text("Held", exact=True))

    # 7. The plumber submits the milestone with evidence; the customer sees it at once.
    await v.get_by_label("What was done for “Replace washer and test”").fill(
        "Tap installed and tested. Works perfectly."
    )
    await v.get_by_label("Evidence photos", exact=True).set_input_files(
        {"name": "done.png", "mimeType": "image/png", "buffer": png()}
    )
    await expect(v.get_by_role("img", name="Photo 1", exact=True)).to_be_visible()
    await v.get_by_role("button", name="Submit “Replace washer and test” for approval").click()
    approve = c.get_by_role("button", name=re.compile("Approve “Replace washer and test”"))
    await live(approve)
    await expect(c.get_by_text("Tap installed and tested. Works perfectly.")).to_be_visible()
    await expect(c.get_by_role("img", name="Evidence photo 1")).to_be_visible()

    # 8. The customer approves: the money is released and the plumber sees it.
    await approve.click()
    await live(v.get_by_role("region", name="Escrow").get_by_text("Released", exact=True))
    await expect(c.get_by_text("Completed", exact=True).first).to_be_visible()

    # 9. The customer reviews; the plumber responds; the customer replies.
    await c.get_by_label("Feedback").fill("Great work, quick and professional!")
    await c.get_by_role("button", name="Post review").click()
    await live(v.get_by_text("Great work, quick and professional!"))
    await v.get_by_label("Your response").fill("Thank you, Cathy!")
    await v.get_by_role("button", name="Post response").click()
    await live(c.get_by_text("Thank you, Cathy!"))
    await c.get_by_label("Your reply").fill("You're welcome, see you next time.")
    await c.get_by_role("button", name="Send reply").click()
    await live(v.get_by_text("You're welcome, see you next time."))
    await v.get_by_role("link", name="Wallet").click()
    await expect(v.get_by_text("£120.00").first).to_be_visible()
    # The plumber pays £100 of it out to the bank; the payout is listed and the balance drops.
    await v.get_by_label("Amount to pay out (£)").fill("100")
    await v.get_by_role("button", name="Pay out to my bank").click()
    payouts = v.get_by_role("table", name="Payouts to my bank")
    await expect(payouts.get_by_text("£100.00")).to_be_visible()
    await expect(v.locator(".balance")).to_contain_text("£20.00")

    for tab in (customer, vendor, rival):
        assert tab.script_errors() == [] and tab.dialogs == []


async def user_id(tab: Tab) -> str:
    return str(
        await tab.page.evaluate("JSON.parse(sessionStorage.getItem('tradematch.session')).userId")
    )


async def test_a_dispute_resolved_from_the_admin_dashboard(browser: Any, site: Site) -> None:
    job = await awarded_job(site.api, amount=80)
    customer = await signed_in(browser, site, job.customer, f"#/jobs/{job.job_id}")
    winner = await signed_in(
        browser, site, job.winner, f"#/leads/{job.quoting.leads[job.winner.user_id]}"
    )
    admin = await signed_in(browser, site, site.admin, "#/disputes")
    c, v, a = customer.page, winner.page, admin.page
    await expect(
        v.get_by_role("region", name="Escrow").get_by_text("Held", exact=True)
    ).to_be_visible()

    await c.get_by_role("button", name="Raise a dispute").click()
    await c.get_by_label("What went wrong").fill("The tap still drips after the visit")
    await c.get_by_role("button", name="Raise dispute").click()
    await expect(c.get_by_text("Disputed", exact=True).first).to_be_visible()
    await live(a.get_by_text("The tap still drips after the visit"))
    await live(v.get_by_role("region", name="Escrow").get_by_text("Disputed", exact=True))

    await a.get_by_label("Resolution").select_option("refund_customer")
    await a.get_by_label("Note").fill("Refunded: the work was not finished")
    await a.get_by_role("button", name="Resolve dispute").click()
    await expect(a.get_by_text("No open disputes.")).to_be_visible()
    await live(c.get_by_role("region", name="Escrow").get_by_text("Refunded", exact=True))
    await live(v.get_by_role("region", name="Escrow").get_by_text("Refunded", exact=True))
    await a.get_by_role("button", name="Resolved").click()
    await expect(a.get_by_text("Refunded: the work was not finished")).to_be_visible()
    for tab in (customer, winner, admin):
        assert tab.script_errors() == [] and tab.dialogs == []


async def test_a_draft_edited_published_and_cancelled_while_a_vendor_watches(
    browser: Any, site: Site
) -> None:
    area = new_area()
    customer_user = await site.api.customer(postcode=postcode_in(area, "2BB"))
    vendor_user = await site.api.vendor(postcode=postcode_in(area, "3CC"), radius=5)
    customer = await signed_in(browser, site, customer_user, "#/post")
    vendor = await signed_in(browser, site, vendor_user)
    c, v = customer.page, vendor.page

    await c.get_by_label("Title").fill("Fix dripping bath tap")
    await c.get_by_label("Budget from (£)").fill("40")
    await c.get_by_label("Budget up to (£)").fill("90")
    await c.get_by_role("button", name="Save draft").click()
    await expect(c.get_by_text("Draft", exact=True).first).to_be_visible()
    await c.get_by_role("link", name="Edit draft").click()
    await expect(c.get_by_label("Title")).to_have_value("Fix dripping bath tap")
    await c.get_by_label("Title").fill("Fix dripping bath and basin taps")
    await c.get_by_label("Description").fill("Both taps in the main bathroom.")
    await c.get_by_role("button", name="Save draft").click()
    await expect(c.get_by_role("heading", name="Fix dripping bath and basin taps")).to_be_visible()
    await expect(
        v.get_by_text("No leads right now.")
    ).to_be_visible()  # a draft is offered to no one

    await c.get_by_role("button", name="Publish job").click()
    await expect(c.get_by_text("Live", exact=True).first).to_be_visible()
    await live(v.get_by_role("link", name="Fix dripping bath and basin taps"))
    await v.get_by_role("link", name="Fix dripping bath and basin taps").click()
    await expect(v.get_by_text("Both taps in the main bathroom.")).to_be_visible()

    await c.get_by_role("button", name="Cancel job").click()
    await expect(c.get_by_text("Cancelled", exact=True).first).to_be_visible()
    await live(v.get_by_role("heading", name=NO_LONGER_AVAILABLE))

    # The customer's notifications: an unread count in the navigation, read one by one.
    await c.get_by_role("link", name=re.compile("^Notifications")).click()
    await expect(c.get_by_role("heading", name="Notifications")).to_be_visible()
    mark = c.get_by_role("button", name=re.compile("^Mark .* as read$"))
    before = await mark.count()
    if before:
        await mark.first.click()
        await expect(mark).to_have_count(before - 1)
    for tab in (customer, vendor):
        assert tab.script_errors() == [] and tab.dialogs == []


async def test_offline_is_shown_and_what_was_missed_arrives_on_reconnection(
    browser: Any, site: Site
) -> None:
    job = await awarded_job(site.api, amount=70, funded=False)
    lead_id = job.quoting.leads[job.winner.user_id]
    vendor = await signed_in(browser, site, job.winner, f"#/leads/{lead_id}")
    sockets: list[str] = []
    vendor.page.on("websocket", lambda ws: sockets.append(ws.url))
    v = vendor.page
    await expect(v.get_by_role("status").filter(has_text="Live")).to_be_visible()
    log = v.get_by_role("log")
    await expect(log.get_by_text("Quote accepted. Job in progress.")).to_be_visible()

    async def customer_says(text: str) -> None:
        response = await site.api.client.post(
            f"/api/connection/conversations/{job.conversation_id}/messages",
            json={"body": text},
            headers=job.customer.headers,
        )
        assert response.status_code == 201, response.text

    await customer_says("Are you still coming at nine?")  # an event seen live: a place to resume
    await live(log.get_by_text("Are you still coming at nine?"))
    await vendor.context.set_offline(True)
    await live(v.get_by_role("status").filter(has_text="Offline"))
    await customer_says("Sent while you were offline")
    await vendor.context.set_offline(False)
    await expect(v.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=5000)
    await live(log.get_by_text("Sent while you were offline"))
    assert sockets and "resume_from=" in sockets[-1], sockets
    assert vendor.script_errors() == []
