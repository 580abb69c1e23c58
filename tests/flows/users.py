"""Users and a marketplace around them, made through the API as real clients would: the
``Api`` client, areas of the map a test has to itself, a customer's published job offered to
vendors nearby (``marketplace``), and administrators."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx

from tradematch.kit.postcodes import centroids, distance_miles

PASSWORD = "correct-horse-battery"


# Places some tests use by name, with vendors of a wide radius (up to 30 miles): no area handed
# out by ``new_area`` comes near them, or their vendors would match another test's job.
NAMED_PLACES = ("LS1", "LS6", "SW1A", "B1", "S10", "S11")
# Vendors placed in an area by ``new_area`` serve at most this far (the helpers' default is 5).
AREA_RADIUS_MILES = 10


@lru_cache(maxsize=1)
def spaced_outcodes() -> list[str]:
    """Outcodes further apart than any area vendor's radius and 40 miles from the named places:
    an area per test, so vendors in one area never match jobs of another test sharing the
    database."""
    chosen: list[str] = []
    for outcode in sorted(centroids()):
        if all(distance_miles(outcode, place) >= 40 for place in NAMED_PLACES) and all(
            distance_miles(outcode, other) > AREA_RADIUS_MILES for other in chosen
        ):
            chosen.append(outcode)
    return chosen


# Customers who need no area of their own live here; no vendor is ever placed in it.
CUSTOMERS_AREA, *_AREAS = spaced_outcodes()
_areas = iter(_AREAS[(os.getpid() % 7) :])


def _letters(count: int) -> str:
    return uuid.uuid4().hex[:count].translate(str.maketrans("0123456789", "ghijklmnop"))


def new_area() -> str:
    """An area no other test of this process has had (a worker's tests share one database)."""
    area = next(_areas, None)
    if area is None:
        raise RuntimeError("the tests of one process used every area: space them closer")
    return area


def postcode_in(outcode: str, inward: str = "1AA") -> str:
    return f"{outcode} {inward}"


@dataclass
class User:
    user_id: str
    role: str
    email: str
    token: str
    name: str
    phone: str
    postcode: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(self, role: str, *, postcode: str, **extra: Any) -> User:
        tag = uuid.uuid4().hex[:10]
        body = {
            "email": f"{role}-{tag}@example.com",
            "password": PASSWORD,
            "name": extra.pop("name", f"{role.title()} {tag}"),
            "phone": extra.pop("phone", "07700 900" + str(int(tag, 16) % 1000).zfill(3)),
            "postcode": postcode,
            "role": role,
            **extra,
        }
        response = await self.client.post("/api/auth/register", json=body)
        assert response.status_code == 201, response.text
        data = response.json()
        return User(
            user_id=data["user_id"],
            role=role,
            email=data["email"],
            token=data["access_token"],
            name=data["name"],
            phone=data["phone"],
            postcode=data["postcode"],
            body=data,
        )

    async def customer(self, *, postcode: str | None = None, **extra: Any) -> User:
        return await self.register(
            "customer", postcode=postcode or postcode_in(CUSTOMERS_AREA), **extra
        )

    async def vendor(
        self,
        *,
        postcode: str,
        trades: list[str] | None = None,
        radius: int = 5,
        **extra: Any,
    ) -> User:
        return await self.register(
            "vendor",
            postcode=postcode,
            # Letters only: a random "ca18bf" reads as the postcode CA1 8BF, which is refused.
            business_name=extra.pop("business_name", f"Trades {_letters(6)} Ltd"),
            trades=trades or ["Plumbing"],
            service_radius_miles=radius,
            **extra,
        )

    async def create_job(self, customer: User, **overrides: Any) -> dict[str, Any]:
        body = {
            "title": "Fix leaking kitchen tap",
            "trade_category": "Plumbing",
            "budget_min": 50,
            "budget_max": 150,
            "timeframe": "urgent",
            **overrides,
        }
        response = await self.client.post(
            "/api/connection/jobs", json=body, headers=customer.headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def upload(
        self, user: User, content: bytes, filename: str = "photo.jpg"
    ) -> dict[str, Any]:
        """Upload a file that must be accepted (POST /uploads, multipart)."""
        response = await self.client.post(
            "/api/connection/uploads",
            files={"file": (filename, content, "application/octet-stream")},
            headers=user.headers,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def publish(self, customer: User, job_id: str) -> dict[str, Any]:
        response = await self.client.patch(
            f"/api/connection/jobs/{job_id}/publish", json={}, headers=customer.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def leads(self, vendor: User) -> list[dict[str, Any]]:
        response = await self.client.get("/api/connection/leads", headers=vendor.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def lead_for(self, vendor: User, job_id: str) -> dict[str, Any]:
        matching = [lead for lead in await self.leads(vendor) if lead["job_id"] == job_id]
        assert len(matching) == 1, matching
        return matching[0]

    async def accept(self, vendor: User, lead_id: str) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/connection/leads/{lead_id}/accept", json={}, headers=vendor.headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@dataclass
class Marketplace:
    """A customer with a published job in an area of its own, and the vendors offered it."""

    customer: User
    vendors: list[User]
    job_id: str
    leads: dict[str, str]  # vendor user_id → lead_id
    outsider_vendor: User
    other_customer: User
    photo_upload_id: str | None = None  # the job's photo, when one was asked for


async def marketplace(
    api: Api,
    *,
    vendors: int = 2,
    description: str | None = None,
    photo: tuple[str, bytes] | None = None,
) -> Marketplace:
    """``photo``: (file name, content) uploaded by the customer and attached to the job."""
    area = new_area()
    customer = await api.customer(postcode=postcode_in(area, "2BB"))
    offered = [
        await api.vendor(postcode=postcode_in(area, f"{i}CC"), radius=3) for i in range(vendors)
    ]
    outsider = await api.vendor(postcode=postcode_in(new_area()), radius=1)
    other_customer = await api.customer()
    fields: dict[str, Any] = {"description": description} if description else {}
    photo_upload_id = None
    if photo is not None:
        photo_upload_id = (await api.upload(customer, photo[1], photo[0]))["upload_id"]
        fields["photo_upload_ids"] = [photo_upload_id]
    job = await api.create_job(customer, **fields)
    published = await api.publish(customer, job["job_id"])
    assert published["leads_assigned"] == vendors, published
    leads = {v.user_id: (await api.lead_for(v, job["job_id"]))["lead_id"] for v in offered}
    return Marketplace(
        customer, offered, job["job_id"], leads, outsider, other_customer, photo_upload_id
    )


async def create_admin(api: Api, database_url: str) -> User:
    """An administrator (only `tradematch admin create` makes them; this calls the same service),
    logged in through the API. ``database_url`` is the asyncpg URL of the database ``api`` uses."""
    from tradematch.accounts.service import create_user
    from tradematch.authz.roles import Role
    from tradematch.core.database import create_engine
    from tradematch.events.unit_of_work import unit_of_work
    from tradematch.sessions import create_sessionmaker

    tag = uuid.uuid4().hex[:10]
    values = {
        "email": f"admin-{tag}@example.com",
        "name": f"Admin {tag}",
        "phone": "07700 900999",
        "postcode": "SW1A 1AA",
    }
    engine = create_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            user = await create_user(session, role=Role.ADMIN, password=PASSWORD, **values)
            user_id = user.id
    finally:
        await engine.dispose()
    response = await api.client.post(
        "/api/auth/login", json={"email": values["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return User(
        user_id=user_id,
        role="admin",
        email=values["email"],
        token=response.json()["access_token"],
        name=values["name"],
        phone=values["phone"],
        postcode=values["postcode"],
    )
