"""User text is text: job titles, descriptions, messages, business names and review text
holding <script>, <img onerror> and javascript: links render as the characters typed, run
nothing (no dialog, no script error) and make no element or link of their own."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.flows.browser import Site, Tab, signed_in
from tests.flows.deals import awarded_job, submit
from tests.flows.users import User

pytestmark = pytest.mark.browser


SCRIPT = '<script>alert("title")</script>'
IMG = "<img src=x onerror=alert(1)>"
LINK = "javascript:alert(document.domain)"
MARKDOWN_LINK = "[your invoice](javascript:alert(2))"


async def injected_nothing(tab: Tab) -> None:
    made = await tab.page.evaluate(
        """() => ({
            scripts: [...document.scripts].filter(s => !s.src).length,
            images: document.querySelectorAll('img[src="x"], [onerror]').length,
            links: [...document.querySelectorAll('a[href]')]
                .filter(a => a.href.toLowerCase().startsWith('javascript:')).length,
        })"""
    )
    assert made == {"scripts": 0, "images": 0, "links": 0}, made
    assert tab.dialogs == [], tab.dialogs
    assert tab.script_errors() == [], tab.script_errors()


async def api_ok(site: Site, method: str, path: str, user: User, body: dict[str, Any]) -> Any:
    response = await site.api.client.request(method, path, json=body, headers=user.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_hostile_text_renders_as_text_everywhere(browser: Any, site: Site) -> None:
    job = await awarded_job(site.api, amount=90)
    api = "/api/connection"
    await api_ok(site, "PATCH", f"{api}/vendors/me", job.winner, {"business_name": IMG})
    for body in (SCRIPT, IMG, LINK, MARKDOWN_LINK):
        await api_ok(
            site,
            "POST",
            f"{api}/conversations/{job.conversation_id}/messages",
            job.winner,
            {"body": body},
        )
    milestone = job.milestone_ids[0]
    response = await submit(site.api, job.winner, milestone)
    assert response.status_code == 200, response.text
    await api_ok(site, "PATCH", f"{api}/milestones/{milestone}/approve", job.customer, {})
    review = await api_ok(
        site,
        "POST",
        f"{api}/reviews",
        job.customer,
        {
            "job_id": job.job_id,
            "rating": 4,
            "feedback": f"{SCRIPT} {LINK}",
            "recommend_yes_no": True,
        },
    )
    await api_ok(
        site,
        "PATCH",
        f"{api}/reviews/{review['review_id']}/respond",
        job.winner,
        {"response": IMG},
    )
    # A second job whose title and description carry the payloads, offered to the same vendor.
    hostile = await site.api.create_job(
        job.customer, title=SCRIPT, description=f"{IMG}\n{LINK}\n{MARKDOWN_LINK}"
    )
    await site.api.publish(job.customer, hostile["job_id"])

    customer = await signed_in(browser, site, job.customer, f"#/jobs/{job.job_id}")
    c = customer.page
    await expect(c.get_by_text(IMG, exact=True).first).to_be_visible()  # the business name
    await c.get_by_role("button", name=f"Messages with {IMG}").click()
    log = c.get_by_role("log")
    for body in (SCRIPT, IMG, LINK, MARKDOWN_LINK):
        await expect(log.get_by_text(body, exact=True).last).to_be_visible()
    await expect(c.get_by_text(f"{SCRIPT} {LINK}")).to_be_visible()
    await injected_nothing(customer)
    await c.goto(f"/#/jobs/{hostile['job_id']}")
    await expect(c.get_by_role("heading", name=SCRIPT)).to_be_visible()
    await expect(c.get_by_text(LINK)).to_be_visible()
    await c.get_by_role("link", name="My jobs").click()
    await expect(c.get_by_role("link", name=SCRIPT)).to_be_visible()
    await injected_nothing(customer)

    vendor = await signed_in(browser, site, job.winner, "#/reviews")
    v = vendor.page
    await expect(v.get_by_text(f"{SCRIPT} {LINK}")).to_be_visible()
    await expect(v.get_by_text(IMG).first).to_be_visible()
    await v.get_by_role("link", name="Leads").click()
    await expect(v.get_by_role("link", name=SCRIPT)).to_be_visible()
    await v.get_by_role("link", name=SCRIPT).click()
    await expect(v.get_by_role("heading", name=SCRIPT)).to_be_visible()
    await injected_nothing(vendor)
    await v.get_by_role("link", name="Profile").click()
    await expect(v.get_by_label("Business name")).to_have_value(IMG)
    await injected_nothing(vendor)

    admin = await signed_in(browser, site, site.admin, f"#/jobs/{hostile['job_id']}")
    await expect(admin.page.get_by_role("heading", name=SCRIPT)).to_be_visible()
    await expect(admin.page.get_by_text("Chain verified")).to_be_visible()
    await injected_nothing(admin)
