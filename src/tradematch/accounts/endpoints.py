from __future__ import annotations

from fastapi import APIRouter, Request, status

from tradematch.accounts import service
from tradematch.accounts.schemas import (
    LoginRequest,
    RegisterRequest,
    RegisterResponse,
    TokenResponse,
    UserResponse,
)
from tradematch.api.deps import ActorDep, SessionDep, SettingsDep, client_address
from tradematch.api.idempotency import NaturallyIdempotent, idempotent_by
from tradematch.api.routing import TransactionalRoute
from tradematch.kit.schemas import RATE_LIMITED

router = APIRouter(tags=["accounts"], route_class=TransactionalRoute)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterResponse,
    dependencies=[idempotent_by("email")],
)
async def register(
    body: RegisterRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> RegisterResponse:
    """Create a customer or vendor account and sign in (admins: `tradematch admin create`).
    Attempts are rate-limited per client address (429 with Retry-After)."""
    await service.check_registration_allowed(
        session, request.app.state.sessionmaker, settings, client=client_address(request)
    )
    user = await service.register(session, body)
    token = service.issue(settings, request.app.state.signing_key, user)
    profile = await service.load_profile(session, user)
    return RegisterResponse(
        **profile.model_dump(), access_token=token.access_token, expires_in=token.expires_in
    )


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=RATE_LIMITED,
    dependencies=[NaturallyIdempotent],
)
async def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Exchange email and password for an access token. Failed attempts are rate-limited (429)."""
    user = await service.login(
        session,
        request.app.state.sessionmaker,
        settings,
        email=body.email,
        password=body.password,
        client=client_address(request),
    )
    token = service.issue(settings, request.app.state.signing_key, user)
    return TokenResponse(access_token=token.access_token, expires_in=token.expires_in)


@router.get("/me", response_model=UserResponse)
async def me(actor: ActorDep, session: SessionDep) -> UserResponse:
    """The signed-in user, with the vendor profile for vendors."""
    return await service.me(session, actor)
