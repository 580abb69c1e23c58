from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.flows.users import PASSWORD, Api, new_area, postcode_in

REGISTER = "/api/auth/register"


def _vendor_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": f"v-{time.time_ns()}@example.com",
        "password": PASSWORD,
        "name": "Val Vendor",
        "phone": "07700 900456",
        "postcode": postcode_in(new_area()),
        "role": "vendor",
        "business_name": "Val's Plumbing",
        "trades": ["Plumbing"],
        "service_radius_miles": 10,
    }
    body.update(overrides)
    return body


async def test_register_login_me(api: Api, client: httpx.AsyncClient) -> None:
    vendor = await api.vendor(
        postcode=postcode_in(new_area()), trades=["Plumbing", "Tiling"], radius=10
    )
    assert vendor.user_id.startswith("usr_")
    assert vendor.body["token_type"] == "bearer" and vendor.body["access_token"]
    login = await client.post(
        "/api/auth/login", json={"email": vendor.email.upper(), "password": PASSWORD}
    )
    assert login.status_code == 200
    body = login.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["role"] == "vendor"
    assert me.json()["vendor_profile"]["trades"] == ["Plumbing", "Tiling"]
    assert "password" not in me.text and "password_hash" not in me.text


async def test_passwords_are_argon2id(api: Api, worker_db: object) -> None:
    customer = await api.customer()
    conn = await worker_db.connect()  # type: ignore[attr-defined]
    try:
        stored = await conn.fetchval(
            "SELECT password_hash FROM users WHERE id = $1", customer.user_id
        )
    finally:
        await conn.close()
    assert stored.startswith("$argon2id$")


async def test_duplicate_email_is_a_conflict_case_insensitively(client: httpx.AsyncClient) -> None:
    body = _vendor_body()
    assert (await client.post(REGISTER, json=body)).status_code == 201
    again = await client.post(REGISTER, json={**body, "email": str(body["email"]).upper()})
    assert again.status_code == 409
    assert again.json()["code"] == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    "change",
    [
        {"email": "not-an-email"},
        {"password": "short"},
        {"phone": "12"},
        {"postcode": "ZZ99 9ZZ"},
        {"postcode": "not a postcode"},
        {"role": "admin"},
        {"trades": ["Plumbing", "Plumbing"]},
        {"trades": ["Astrology"]},
        {"trades": []},
        {"service_radius_miles": 0},
        {"service_radius_miles": 101},
        {"business_name": "x" * 121},
        {"unexpected": True},
        {"name": "nul\x00byte"},
    ],
)
async def test_bad_registration_is_422_and_stores_nothing(
    client: httpx.AsyncClient, change: dict[str, object]
) -> None:
    body = _vendor_body(**change)
    response = await client.post(REGISTER, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    if change.get("email") != "not-an-email":
        login = await client.post(
            "/api/auth/login", json={"email": body["email"], "password": PASSWORD}
        )
        assert login.status_code == 401


async def test_customer_cannot_carry_vendor_fields(client: httpx.AsyncClient) -> None:
    body = _vendor_body(role="customer")
    assert (await client.post(REGISTER, json=body)).status_code == 422


async def test_login_failures_are_rate_limited(api: Api, client: httpx.AsyncClient) -> None:
    customer = await api.customer()
    for _ in range(5):  # the test settings allow five failures a minute
        wrong = await client.post(
            "/api/auth/login", json={"email": customer.email, "password": "wrong-password"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "UNAUTHORIZED"
    limited = await client.post(
        "/api/auth/login", json={"email": customer.email, "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert limited.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_unknown_email_and_wrong_password_look_the_same(
    api: Api, client: httpx.AsyncClient
) -> None:
    customer = await api.customer()
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody-x@example.com", "password": "x" * 10}
    )
    wrong = await client.post(
        "/api/auth/login", json={"email": customer.email, "password": "x" * 10}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_bad_tokens_are_401(api: Api, client: httpx.AsyncClient, settings: object) -> None:
    customer = await api.customer()
    forged = jwt.encode(
        {"sub": customer.user_id, "role": "admin", "exp": time.time() + 60}, "x" * 40, "HS256"
    )
    expired = jwt.encode(
        {"sub": customer.user_id, "role": "customer", "exp": time.time() - 5},
        settings.signing_key(),  # type: ignore[attr-defined]
        "HS256",
    )
    for token in (forged, expired, "garbage"):
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHORIZED"
    assert (await client.get("/api/auth/me")).status_code == 401


async def test_role_comes_from_the_database_not_the_token(
    api: Api, client: httpx.AsyncClient, settings: object
) -> None:
    customer = await api.customer()
    token = jwt.encode(
        {"sub": customer.user_id, "role": "admin", "exp": time.time() + 60},
        settings.signing_key(),  # type: ignore[attr-defined]
        "HS256",
    )
    response = await client.get("/api/admin/events", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_vendor_profile_update_and_public_view(api: Api, client: httpx.AsyncClient) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()), trades=["Plumbing"])
    other_area = new_area()
    change = await client.patch(
        "/api/connection/vendors/me",
        json={
            "trades": ["Roofing", "Tiling"],
            "service_radius_miles": 25,
            "accepting_leads": False,
            "postcode": postcode_in(other_area),
        },
        headers=vendor.headers,
    )
    assert change.status_code == 200, change.text
    assert change.json()["trades"] == ["Roofing", "Tiling"]
    assert change.json()["accepting_leads"] is False
    assert change.json()["postcode"] == postcode_in(other_area)

    customer = await api.customer()
    public = await client.get(f"/api/connection/vendors/{vendor.user_id}", headers=customer.headers)
    assert public.status_code == 200
    body = public.json()
    assert set(body) == {
        "vendor_id",
        "business_name",
        "trades",
        "badges",
        "rating_average",
        "rating_count",
        "distance_miles",
    }
    for secret in (vendor.phone, vendor.email, vendor.name):
        assert secret not in public.text

    customer_profile = await client.get(
        f"/api/connection/vendors/{customer.user_id}", headers=vendor.headers
    )
    assert customer_profile.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"service_radius_miles": 500},
        {"trades": ["Nope"]},
        {"accepting_leads": None},
        {"business_name": ""},
    ],
)
async def test_bad_profile_update_is_422(
    api: Api, client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()))
    response = await client.patch("/api/connection/vendors/me", json=body, headers=vendor.headers)
    assert response.status_code == 422
    me = await client.get("/api/auth/me", headers=vendor.headers)
    assert me.json()["vendor_profile"]["service_radius_miles"] == 5
    assert me.json()["vendor_profile"]["trades"] == ["Plumbing"]
