"""A small authoritative DNS server on loopback for tests (UDP and TCP on one free port).

Records are given as a dict of owner name -> record type -> rdata in zone-file text, so any type
dnspython knows works (MX, A, AAAA, TXT, CNAME, TLSA, CAA, ...)::

    records = {
        "example.test": {"MX": ["10 mx.example.test."], "TXT": ['"v=spf1 ip4:127.0.0.1 -all"']},
        "mx.example.test": {"A": ["127.0.0.1"]},
    }
    async with DnsServer(records) as dns:        # inside a running event loop
        Server(..., resolver=(dns.address,))      # "127.0.0.1:PORT" for maild's Config
    with DnsServer(records).running() as dns:     # from synchronous code: serves from a thread
        ...

Semantics, close enough to a real authoritative server for resolvers to behave as in production:
names are case-insensitive and absolute (a trailing dot is optional; relative names inside rdata
are taken from the root; internationalised names may be written in Unicode); a name that is absent is NXDOMAIN, a present name without the asked
type is NOERROR with no answer (NODATA); a CNAME is followed within the records; a name in
`failing` answers SERVFAIL (a temporary DNS error). Responses carry the AA flag, honour the EDNS
payload size over UDP and set TC when the answer does not fit, so resolvers retry over TCP.

`records` and `failing` are plain attributes read on every query: a test may change them while
the server runs. `queries` records every (name, type) asked, in order.
"""
from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Records = Mapping[str, Mapping[str, str | Sequence[str]]]

TTL = 60
MAX_CNAME_CHAIN = 8
UDP_DEFAULT_PAYLOAD = 512


def _key(name: str | dns.name.Name) -> str:
    """The lookup key for an owner name: A-labels (IDNs may be given in Unicode), lower-case, no dot."""
    if isinstance(name, str):
        name = dns.name.from_text(name)
    return name.to_text(omit_final_dot=True).lower()


class DnsServer:
    """Serves `records` authoritatively on `host` (UDP + TCP, same port); see the module docstring."""

    def __init__(self, records: Records, host: str = "127.0.0.1") -> None:
        self.records: dict[str, Mapping[str, str | Sequence[str]]] = {
            _key(name): types for name, types in records.items()
        }
        for name in self.records:
            for rtype in self.records[name]:
                self._rrset(name, rtype)  # reject bad test data at construction, not at query time
        self.failing: set[str] = set()
        self.queries: list[tuple[str, str]] = []
        self.host = host
        self.port = 0
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def address(self) -> str:
        """`ip:port` as maild's `Server.resolver` takes it."""
        return f"{self.host}:{self.port}"

    # -- answering -------------------------------------------------------------------------

    def _rrset(self, name: str, rtype: str) -> dns.rrset.RRset:
        values = self.records[name][rtype]
        texts = [values] if isinstance(values, str) else list(values)
        rdatatype = dns.rdatatype.from_text(rtype)
        rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, rdatatype)
        for text in texts:
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, rdatatype, text, origin=dns.name.root, relativize=False
            )
            rrset.add(rdata, TTL)
        return rrset

    def _exists(self, name: str) -> bool:
        """True for an owner name or an empty non-terminal above one (those are NODATA, not NXDOMAIN)."""
        return name in self.records or any(owner.endswith("." + name) for owner in self.records)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The authoritative response to `query`."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name, rdtype = _key(question.name), question.rdtype
        self.queries.append((name, dns.rdatatype.to_text(rdtype)))
        for _ in range(MAX_CNAME_CHAIN):
            if name in self.failing:
                response.set_rcode(dns.rcode.SERVFAIL)
                return response
            if not self._exists(name):
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            types = {dns.rdatatype.from_text(t): t for t in self.records.get(name, {})}
            if rdtype == dns.rdatatype.ANY:
                response.answer.extend(self._rrset(name, text) for text in types.values())
                return response
            if rdtype in types:
                response.answer.append(self._rrset(name, types[rdtype]))
                return response
            if dns.rdatatype.CNAME not in types:
                return response  # NODATA
            cname = self._rrset(name, "CNAME")
            response.answer.append(cname)
            name = _key(cname[0].target)  # type: ignore[attr-defined]
        response.set_rcode(dns.rcode.SERVFAIL)  # a CNAME loop in the test data
        return response

    def _wire(self, data: bytes, max_size: int | None) -> bytes | None:
        """Wire-format response to wire-format `data`, or None for garbage (dropped, like BIND)."""
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        response = self.answer(query)
        if max_size is None:
            return response.to_wire()
        limit = max(query.payload, UDP_DEFAULT_PAYLOAD) if query.edns >= 0 else UDP_DEFAULT_PAYLOAD
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    # -- transports ------------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                reply = self._wire(await reader.readexactly(length), None)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the client closed the connection: the normal end of a TCP DNS exchange
        finally:
            del self._connections[task]
            writer.close()

    async def start(self) -> None:
        """Bind UDP and TCP on one free port of `host`."""
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = server._wire(data, UDP_DEFAULT_PAYLOAD)
                if reply is not None:
                    self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        last_error: OSError | None = None
        for _ in range(20):
            tcp = await asyncio.start_server(self._serve_tcp, self.host, 0)
            port = tcp.sockets[0].getsockname()[1]
            try:
                udp, _protocol = await loop.create_datagram_endpoint(Udp, local_addr=(self.host, port))
            except OSError as error:  # the UDP twin of that port is taken: try another
                last_error = error
                tcp.close()
                await tcp.wait_closed()
                continue
            self._tcp, self._udp, self.port = tcp, udp, port
            return
        raise RuntimeError(f"no free port for UDP and TCP on {self.host}: {last_error}")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for writer in self._connections.values():
                writer.close()  # an idle client connection: its reader sees EOF and the handler ends
            await asyncio.gather(*self._connections)
            await self._tcp.wait_closed()
        self._tcp = self._udp = None

    async def __aenter__(self) -> DnsServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @contextmanager
    def running(self) -> Iterator[DnsServer]:
        """Serve from an event loop in a background thread, for synchronous tests."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="test-dns", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=20)
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=20)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=20)
            loop.close()
