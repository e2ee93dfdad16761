"""A small SMTP server on 127.0.0.1, port 0: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT.

Enough of RFC 5321 for smtplib to deliver to it; each message is kept with its envelope and
the credentials it logged in with.
"""

from __future__ import annotations

import asyncio
import base64
import email
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message


@dataclass
class Mail:
    """One delivered message."""

    sender: str
    recipients: list[str]
    data: bytes
    login: tuple[str, str] | None

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data)


@dataclass
class SmtpServer:
    """`async with SmtpServer() as smtp:` then send to 127.0.0.1:`smtp.port`."""

    password: str | None = None  # when set, AUTH must give it
    messages: list[Mail] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> SmtpServer:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state: dict = {"from": "", "to": [], "login": None}

        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 localhost fake SMTP")
        try:
            while line := (await reader.readline()).decode().rstrip("\r\n"):
                verb, _, arg = line.partition(" ")
                if not await self._command(verb.upper(), arg, state, reader, reply):
                    break
        finally:
            writer.close()

    async def _command(
        self,
        verb: str,
        arg: str,
        state: dict,
        reader: asyncio.StreamReader,
        reply: Callable[[str], Awaitable[None]],
    ) -> bool:
        if verb == "EHLO":
            await reply("250-localhost")
            await reply("250 AUTH PLAIN")
        elif verb == "HELO" or verb in ("NOOP", "RSET"):
            await reply("250 ok")
        elif verb == "AUTH":
            _, _, token = arg.partition(" ")
            _, user, password = base64.b64decode(token).decode().split("\0")
            if self.password is not None and password != self.password:
                await reply("535 authentication failed")
            else:
                state["login"] = (user, password)
                await reply("235 ok")
        elif verb == "MAIL":
            state["from"], state["to"] = arg.split(":", 1)[1].strip("<> "), []
            await reply("250 ok")
        elif verb == "RCPT":
            state["to"].append(arg.split(":", 1)[1].strip("<> "))
            await reply("250 ok")
        elif verb == "DATA":
            await reply("354 end with <CRLF>.<CRLF>")
            data = await reader.readuntil(b"\r\n.\r\n")
            self.messages.append(Mail(state["from"], state["to"], data[:-5], state["login"]))
            await reply("250 queued")
        elif verb == "QUIT":
            await reply("221 bye")
            return False
        else:
            await reply("502 not implemented")
        return True
