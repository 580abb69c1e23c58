from fastapi import APIRouter

from tradematch.core.routing import TransactionalRoute

router = APIRouter(route_class=TransactionalRoute)
