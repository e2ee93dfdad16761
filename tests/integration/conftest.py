"""Fixtures for tests against the Redis server on loopback: database 13, one stream per test."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    """A client on database 13; skips the test if Redis is down, but fails it under CI."""
    client = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), timeout=2.0)
    except (RedisError, OSError, TimeoutError) as exc:
        await client.aclose()
        message = f"Redis not reachable on 127.0.0.1:6379: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_stream(redis_client: Redis) -> AsyncIterator[str]:
    """A fresh stream name; the stream, and with it every consumer group, is deleted after."""
    name = f"viper:test:{uuid.uuid4().hex}"
    yield name
    await redis_client.delete(name)


@pytest.fixture
def redis_url(redis_client: Redis) -> str:
    """The URL of database 13, once `redis_client` has found the server up."""
    return REDIS_URL
