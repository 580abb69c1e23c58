from __future__ import annotations

import httpx

from tests.helpers import PASSWORD, Api, new_area, postcode_in


async def test_register_login_me(api: Api, client: httpx.AsyncClient) -> None:
    vendor = await api.vendor(postcode=postcode_in(new_area()), trades=["Plumbing", "Tiling"], radius=10)
    assert vendor.user_id.startswith("usr_")
    login = await client.post("/api/auth/login", json={"email": vendor.email, "password": PASSWORD})
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["vendor_profile"]["trades"] == ["Plumbing", "Tiling"]
    assert me.json()["role"] == "vendor"
