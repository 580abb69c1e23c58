from tests.security.conftest import admin, module_api

__all__ = ["admin", "module_api"]
