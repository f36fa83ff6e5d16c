"""The Lime client against the Lime sandbox over HTTP, and against the documented fixtures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from billecta_gateway.lime.schema import LimeSchema
from billecta_gateway.limecrm.client import USER_AGENT, LimeClient
from billecta_gateway.limecrm.codec import LimeCodec
from billecta_gateway.limecrm.errors import LimeApiError, LimeBadRequest, LimeNotFound
from tests.limecrm.support import LimeSandboxServer
from tests.limecrm.test_codec import fixture

CODEC = LimeCodec(LimeSchema(), ZoneInfo("Europe/Stockholm"))


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def _seed_companies(lime: LimeSandboxServer, n: int) -> list[int]:
    return await lime.seed({"company": [{"name": f"Company {i}"} for i in range(n)]})


@pytest.mark.parametrize("form", ["offset", "offset_id"])
async def test_lists_follow_the_next_link_in_either_form(
    lime: LimeSandboxServer, form: str
) -> None:
    await lime.settings(next_form=form)
    ids = await _seed_companies(lime, 5)
    async with lime.client() as client:
        got = [obj["_id"] async for obj in client.iter_objects("company", limit=2)]
    assert got == ids
    lists = (await lime.requests(path_contains="limeobject/company"))["requests"]
    assert [r["path"] for r in lists] == ["limeobject/company/"] * 3
    assert [f"_{form}=" in r["query"] for r in lists] == [False, True, True]


async def test_requests_carry_the_key_a_stable_user_agent_and_trailing_slashes(
    lime: LimeSandboxServer,
) -> None:
    (company,) = await _seed_companies(lime, 1)
    async with lime.client() as client:
        await client.ping()
        await client.get_object("company", company)
        await client.limetype("company")
    log = (await lime.requests())["requests"]
    assert [r["status"] for r in log] == [200, 200, 200]
    assert {r["user_agent"] for r in log} == {USER_AGENT}
    assert USER_AGENT.startswith("billecta-gateway/")
    assert all(r["path"] == "" or r["path"].endswith("/") for r in log)
    async with LimeClient(base_url=lime.base_url, api_key="wrong") as client:
        with pytest.raises(LimeApiError, match="401"):
            await client.ping()


async def test_codec_round_trip_through_the_sandbox(lime: LimeSandboxServer) -> None:
    (creditor, debtor) = await lime.seed(
        {"creditor": [{"name": "C"}], "debtor": [{"name": "Anna"}]}
    )
    values = {
        "creditor": creditor,
        "debtor": debtor,
        "orderstatus": "created",
        "deliverymethod": None,
        "invoicedate": date(2026, 1, 30),
        "duedate": date(2026, 7, 1),
        "ourreference": None,
        "yourreference": "Ref 7",
    }
    async with lime.client() as client:
        created = await client.create_object("order", CODEC.encode("order", values))
        read = await client.get_object("order", created["_id"])
    stored = next(
        o
        for o in (await lime.control.get("/_lime-sandbox/objects/order")).json()
        if o["_id"] == created["_id"]
    )
    assert stored["ourreference"] == ""  # None went out as "", not null
    assert stored["deliverymethod"] == "empty"
    assert stored["invoicedate"] == "2026-01-30T00:00:00+01:00"
    assert stored["duedate"] == "2026-07-01T00:00:00+02:00"
    assert read["orderstatus"] == {
        "id": read["orderstatus"]["id"],
        "key": "created",
        "text": "created",
    }
    assert CODEC.decode("order", read) == {
        **values,
        "contract": None,
        "actionpublicid": None,
        "currency": None,
        "message": None,
        "period_start": None,
        "period_end": None,
        "billecta_error_message": None,
    }


async def test_decimal_and_datetime_survive_the_round_trip(lime: LimeSandboxServer) -> None:
    values = {
        "name": "Hyra",
        "unitprice": Decimal("8500.5"),
        "vat": Decimal(25),
        "isactive": True,
    }
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    async with lime.client() as client:
        article = await client.create_object("article", CODEC.encode("article", values))
        debtor = await client.create_object(
            "debtor", CODEC.encode("debtor", {"name": "X", "billecta_event_at": moment})
        )
        assert CODEC.decode("article", await client.get_object("article", article["_id"])) == (
            CODEC.decode("article", article)
        )
        back = CODEC.decode("debtor", await client.get_object("debtor", debtor["_id"]))
    assert {k: CODEC.decode("article", article)[k] for k in values} == values
    assert back["billecta_event_at"] == moment


async def test_null_text_is_refused_and_nothing_is_created(lime: LimeSandboxServer) -> None:
    async with lime.client() as client:
        with pytest.raises(LimeBadRequest, match="null is not allowed"):
            await client.create_object("debtor", {"name": None})
    assert (await lime.control.get("/_lime-sandbox/objects/debtor")).json() == []


async def test_retries_after_429_honouring_retry_after(lime: LimeSandboxServer) -> None:
    (company,) = await _seed_companies(lime, 1)
    await lime.fault(kind="status", status=429, retry_after=2, count=2, method="GET")
    sleeps = Sleeps()
    async with lime.client(sleep=sleeps, max_retries=3) as client:
        obj = await client.get_object("company", company)
    assert obj["_id"] == company
    assert sleeps.delays == [2.0, 2.0]
    statuses = [r["status"] for r in (await lime.requests())["requests"]]
    assert statuses == [429, 429, 200]


async def test_retries_5xx_with_growing_backoff_then_gives_up(lime: LimeSandboxServer) -> None:
    await lime.fault(kind="status", status=503, count=5, method="GET")
    sleeps = Sleeps()
    async with lime.client(sleep=sleeps, max_retries=2, retry_base_delay=1.0) as client:
        with pytest.raises(LimeApiError) as caught:
            await client.list_page("company")
    assert caught.value.status_code == 503 and caught.value.retryable
    assert len(sleeps.delays) == 2
    assert 0.5 <= sleeps.delays[0] <= 1.0 and 1.0 <= sleeps.delays[1] <= 2.0
    assert len((await lime.requests())["requests"]) == 3


async def test_a_post_is_never_retried(lime: LimeSandboxServer) -> None:
    await lime.fault(kind="status", status=503, count=1, method="POST")
    sleeps = Sleeps()
    async with lime.client(sleep=sleeps) as client:
        with pytest.raises(LimeApiError, match="503"):
            await client.create_object("company", {"name": "Once"})
    assert sleeps.delays == []
    assert [r["method"] for r in (await lime.requests())["requests"]] == ["POST"]


async def test_timeouts_are_retried_for_idempotent_calls(lime: LimeSandboxServer) -> None:
    (company,) = await _seed_companies(lime, 1)
    await lime.fault(kind="delay", ms=600, count=1, method="PUT")
    sleeps = Sleeps()
    async with lime.client(sleep=sleeps, timeout=0.2) as client:
        updated = await client.update_object("company", company, {"name": "Renamed"})
    assert updated["name"] == "Renamed"
    assert len(sleeps.delays) == 1


async def test_query_reads_only_what_changed_since(lime: LimeSandboxServer) -> None:
    ids = await _seed_companies(lime, 3)
    since = datetime.now(UTC)
    async with lime.client() as client:
        await client.update_object("company", ids[1], {"name": "Changed"})
        changed = [o async for o in client.changed_since("company", since, ["name"])]
        everything = [
            o
            async for o in client.changed_since(
                "company", since - timedelta(hours=1), ["name"], page_size=2
            )
        ]
    assert changed == [{"_id": ids[1], "_timestamp": changed[0]["_timestamp"], "name": "Changed"}]
    assert sorted(o["_id"] for o in everything) == ids
    queries = [r for r in (await lime.requests())["requests"] if r["path"] == "query/"]
    assert len(queries) == 1 + 2  # a short page ends the paging


async def test_file_upload_sends_the_documented_header_and_downloads(
    lime: LimeSandboxServer,
) -> None:
    content = b"%PDF-1.7 invoice"
    async with lime.client() as client:
        meta = await client.upload_file("Faktura 1001 å.pdf", content, "application/pdf")
        again = await client.file_metadata(meta["id"])
        downloaded = await client.download_file(meta["id"])
    upload = (await lime.requests(method="POST"))["requests"][0]
    assert upload["content_disposition"] == ";filename*=\"UTF-8''Faktura%201001%20%C3%A5.pdf\""
    assert upload["content_type"] == "application/pdf"
    assert again["filename"] == "Faktura 1001 å.pdf" and again["size"] == len(content)
    assert downloaded.content == content
    assert downloaded.filename == "Faktura 1001 å.pdf"


async def test_limetype_api_describes_the_mirrored_limetypes(lime: LimeSandboxServer) -> None:
    async with lime.client() as client:
        limetypes = {lt["name"]: lt for lt in await client.limetypes()}
        order = await client.limetype("order")
    assert {"creditor", "debtor", "order", "invoice", "payment"} <= set(limetypes)
    props = {p["name"]: p for p in order["_embedded"]["properties"]}
    assert props["orderstatus"]["type"] == "option"
    assert [o["key"] for o in props["orderstatus"]["options"]][:2] == ["empty", "created"]
    assert props["debtor"]["_links"]["related_type"]["name"] == "debtor"
    assert props["invoicedate"]["type"] == "date"
    assert props["orderrow"]["type"] == "hasmany"


async def test_missing_objects_are_not_found(lime: LimeSandboxServer) -> None:
    async with lime.client() as client:
        with pytest.raises(LimeNotFound):
            await client.get_object("company", 999_999)


async def test_links_to_another_host_are_refused() -> None:
    client = LimeClient(base_url="https://lime.example.com/Lime%20CRM", api_key="k")
    assert client.url("limeobject/company/") == (
        "https://lime.example.com/Lime%20CRM/api/v1/limeobject/company/"
    )
    assert client.url("/Lime%20CRM/api/v1/x/") == "https://lime.example.com/Lime%20CRM/api/v1/x/"
    with pytest.raises(LimeApiError, match="another host"):
        client.url("https://attacker.example/Lime%20CRM/api/v1/limeobject/company/")
    await client.aclose()


@pytest.mark.parametrize(
    ("limetype", "pages"),
    [
        ("debtor", ["list_offset_page1.json", "list_offset_page2.json"]),
        ("company", ["list_offset_id_page1.json", "list_offset_id_page2.json"]),
    ],
)
async def test_documented_list_envelopes_are_paged_by_their_next_link(
    limetype: str, pages: list[str]
) -> None:
    first, second = fixture(pages[0]), fixture(pages[1])
    with respx.mock(assert_all_called=True) as mock:
        mock.get(url__eq=first["_links"]["next"]["href"]).mock(
            return_value=httpx.Response(200, json=second)
        )
        mock.get(url__eq=f"https://lime.example.com/Lime%20CRM/api/v1/limeobject/{limetype}/").mock(
            return_value=httpx.Response(200, json=first)
        )
        async with LimeClient(base_url="https://lime.example.com/Lime%20CRM", api_key="k") as c:
            got = [o["_id"] async for o in c.iter_objects(limetype)]
        assert str(mock.calls[1].request.url) == first["_links"]["next"]["href"]
        assert mock.calls[0].request.headers["x-api-key"] == "k"
    expected = [o["_id"] for page in (first, second) for o in page["_embedded"]["limeobjects"]]
    assert got == expected


async def test_sandbox_objects_have_the_documented_shape(lime: LimeSandboxServer) -> None:
    (company,) = await _seed_companies(lime, 1)
    (debtor,) = await lime.seed({"debtor": [{"name": "Region", "company": company}]})
    async with lime.client() as client:
        read = await client.get_object("debtor", debtor, embed=["company"])
    documented = fixture("rest_debtor.json")
    system = {k for k in documented if k.startswith("_")}
    assert system <= set(read)
    assert set(documented["_links"]) <= set(read["_links"])
    assert read["_links"]["self"]["href"].endswith(
        f"/Lime%20CRM/api/v1/limeobject/debtor/{debtor}/"
    )
    assert isinstance(read["debtortype"], dict) and set(read["debtortype"]) == {"id", "key", "text"}
    assert read["email"] == ""
    assert datetime.fromisoformat(read["_timestamp"]).utcoffset() is not None
    assert read["_embedded"]["relation_company"]["_id"] == company
