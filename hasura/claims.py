"""Hasura's claims in our access tokens, and the HASURA_GRAPHQL_JWT_SECRET that makes Hasura trust them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import current_app

from errors import Forbidden
from models import User


def hasura_claims(user: User) -> dict[str, Any]:
    """Return the namespaced Hasura claims of `user`, in HASURA_CLAIMS_FORMAT."""
    settings = current_app.config
    roles = list(user.roles or [])
    if not roles:  # Hasura refuses a token whose default role is not among its allowed roles
        raise Forbidden("This account has no role; ask an administrator to set one.", code="NO_ROLE")
    preferred = settings["HASURA_DEFAULT_ROLE"]
    claims = {
        "x-hasura-allowed-roles": roles,
        "x-hasura-default-role": preferred if preferred in roles else roles[0],
        "x-hasura-user-id": str(user.id),
    }
    if settings["HASURA_CLAIMS_FORMAT"] == "stringified_json":
        return {settings["HASURA_CLAIMS_NAMESPACE"]: json.dumps(claims, separators=(",", ":"))}
    return {settings["HASURA_CLAIMS_NAMESPACE"]: claims}


def jwt_config(settings: Mapping[str, Any], jwk_url: str | None = None) -> dict[str, Any]:
    """Return Hasura's HASURA_GRAPHQL_JWT_SECRET for these settings: `key` for HS256, else `jwk_url`."""
    if settings["JWT_ALGORITHM"] == "HS256":
        config: dict[str, Any] = {"type": "HS256", "key": settings["JWT_SECRET_KEY"]}
    else:
        if not jwk_url:
            algorithm = settings["JWT_ALGORITHM"]
            raise ValueError(f"JWT_ALGORITHM={algorithm}: give the public URL of /.well-known/jwks.json")
        config = {"jwk_url": jwk_url}
    return {
        **config,
        "claims_namespace": settings["HASURA_CLAIMS_NAMESPACE"],
        "claims_format": settings["HASURA_CLAIMS_FORMAT"],
        "issuer": settings["JWT_ISSUER"],
        "audience": settings["JWT_AUDIENCE"],
    }
