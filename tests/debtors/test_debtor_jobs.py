"""Debtor upsert and anonymize jobs against the fake Billecta."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billecta_gateway.debtors.tasks import ANONYMIZE_DEBTOR, UPSERT_DEBTOR
from billecta_gateway.models import (
    Company,
    CreditorDebtor,
    Debtor,
    Invoice,
    Payment,
    Person,
    WebhookEvent,
)
from billecta_gateway.queue import AfterCommit
from billecta_gateway.tasks.contract import TaskKind, start_task
from tests.tasks.support import FakeBillecta, add_creditor, add_debtor, batch_and_logs, run_batch


async def _run(session: AsyncSession, ctx: dict[str, Any], kind: TaskKind, ids: list[int]) -> int:
    batch_id = await start_task(
        session, kind=kind, title="t", created_by=None, object_ids=ids, jobs=AfterCommit()
    )
    await session.commit()
    await run_batch(ctx, batch_id)
    return batch_id


async def _relations(session: AsyncSession, debtor_id: int) -> list[CreditorDebtor]:
    return list(
        (
            await session.scalars(
                select(CreditorDebtor)
                .where(CreditorDebtor.debtor == debtor_id)
                .order_by(CreditorDebtor.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def test_an_update_keeps_the_billecta_fields_the_mapping_does_not_cover(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, name="New name", email=None, zipcode="90325")
    relation = (await _relations(session, 1001))[0]
    relation.debtorpublicid = "debtor-in-billecta"
    fake.debtors["debtor-in-billecta"] = {
        "DebtorPublicId": "debtor-in-billecta",
        "CreditorPublicId": "cred-A",
        "DebtorExternalId": "1001",
        "Name": "Old name",
        "Email": "old@example.se",
        "Notes": "Pays late, call first",
        "Autogiro": {"Active": True, "PayerNumber": "123"},
        "DefaultActionConfig": {"ActivateDefaultActionConfigOverride": True, "InvoiceFee": 0},
    }

    batch_id = await _run(session, ctx, UPSERT_DEBTOR, [1001])

    [put] = fake.requests("PUT", "/v1/debtors/debtor")
    assert put.body["Name"] == "New name"
    assert put.body["ZipCode"] == "90325"
    assert "Email" not in put.body  # cleared in Lime, cleared in Billecta
    assert put.body["Notes"] == "Pays late, call first"
    assert put.body["Autogiro"] == {"Active": True, "PayerNumber": "123"}
    assert put.body["DefaultActionConfig"]["ActivateDefaultActionConfigOverride"] is True
    assert put.body["DebtorPublicId"] == "debtor-in-billecta"
    assert fake.requests("POST") == []
    batch, _ = await batch_and_logs(session, batch_id)
    assert batch.status == "ok"


async def test_a_debtor_deleted_in_billecta_is_created_again(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    (await _relations(session, 1001))[0].debtorpublicid = "gone"

    await _run(session, ctx, UPSERT_DEBTOR, [1001])

    [relation] = await _relations(session, 1001)
    assert relation.debtorpublicid in fake.debtors
    assert [s.method for s in fake.sent] == ["GET", "GET", "POST"]


async def test_a_relation_without_creditorpublicid_fails_while_the_others_sync(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, 1, "cred-A", name="Acme AB")
    await add_creditor(session, 2, None, name="Unlinked AB")
    await add_debtor(session, 1001, creditors=(1, 2))

    batch_id = await _run(session, ctx, UPSERT_DEBTOR, [1001])

    batch, logs = await batch_and_logs(session, batch_id)
    assert batch.status == "donewitherror"
    assert logs[1001].message == (
        "Creditor 2 (Unlinked AB): the creditor has no creditorpublicid (run Update creditor "
        "in Billecta after setting it)"
    )
    ok, failed = await _relations(session, 1001)
    assert ok.debtorpublicid is not None and ok.billecta_error_message is None
    assert failed.debtorpublicid is None
    assert failed.billecta_error_message is not None
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None and debtor.billecta_error_message == logs[1001].message
    assert len(fake.requests("POST")) == 1


async def test_person_and_company_both_set_is_a_clear_failure(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, person=True)
    debtor = await session.get(Debtor, 1001)
    assert debtor is not None
    session.add(Company(id=9, name="Both AB"))
    await session.flush()
    debtor.company = 9

    batch_id = await _run(session, ctx, UPSERT_DEBTOR, [1001])

    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].status == "error"
    assert logs[1001].message == (
        "debtor 1001 must have exactly one of person or company set (both is)"
    )
    assert fake.sent == []


async def test_a_debtor_without_relations_is_a_clear_failure(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_debtor(session, 1001, creditors=())
    batch_id = await _run(session, ctx, UPSERT_DEBTOR, [1001])
    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].message == "debtor 1001 has no creditor relation (creditordebtor) to sync"


async def test_success_clears_an_earlier_error_message(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, billecta_error_message="old failure")
    await _run(session, ctx, UPSERT_DEBTOR, [1001])
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None and debtor.billecta_error_message is None


async def test_a_permanent_billecta_error_is_recorded_on_the_relation_and_the_log(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, name="Acme AB")
    await add_debtor(session, 1001)
    fake.fail("create_debtor", httpx.Response(400, json={"Message": "OrgNo is not valid"}))

    batch_id = await _run(session, ctx, UPSERT_DEBTOR, [1001])

    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].message == (
        "Creditor 1 (Acme AB): Billecta rejected the request: OrgNo is not valid"
    )
    [relation] = await _relations(session, 1001)
    assert relation.billecta_error_message == "Billecta rejected the request: OrgNo is not valid"


async def test_anonymize_calls_billecta_only_for_synced_relations_and_scrubs_the_mirror(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, 1, "cred-A")
    await add_creditor(session, 2, "cred-B")
    await add_debtor(session, 1001, creditors=(1, 2), person=True, orgno="19800101-1234")
    synced, unsynced = await _relations(session, 1001)
    synced.debtorpublicid = "debtor-1"
    fake.debtors["debtor-1"] = {"DebtorPublicId": "debtor-1", "Name": "Anna Svensson"}
    session.add(Invoice(id=3001, debtor=1001, creditordebtor=synced.id))
    await session.flush()
    session.add(
        Payment(id=4001, invoice=3001, sender_name="Anna Svensson", sender_city="Umeå", amount=1)
    )
    session.add(
        WebhookEvent(
            dedupe_key="e1",
            event_type="InvoiceActionAttested",
            payload={
                "Event": "InvoiceActionAttested",
                "Data": {
                    "ActionPublicId": "a1",
                    "Debtor": {"DebtorPublicId": "debtor-1", "Name": "Anna"},
                },
            },
        )
    )
    await session.flush()

    batch_id = await _run(session, ctx, ANONYMIZE_DEBTOR, [1001])

    assert [(s.method, s.path) for s in fake.sent] == [("PUT", "/v1/debtors/anonymize/debtor-1")]
    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].status == "ok"
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None
    assert (debtor.anonymized, debtor.name, debtor.orgno, debtor.email) == (True, None, None, None)
    person = await session.get(Person, 51001, populate_existing=True)
    assert person is not None and person.anonymized and person.firstname is None
    payment = await session.get(Payment, 4001, populate_existing=True)
    assert payment is not None and payment.sender_name is None and payment.amount == 1
    event = await session.scalar(select(WebhookEvent).execution_options(populate_existing=True))
    assert event is not None and "Anna" not in str(event.payload)
    assert unsynced.debtorpublicid is None


async def test_a_failed_anonymization_keeps_the_mirror_and_says_why(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session, name="Acme AB")
    await add_debtor(session, 1001)
    (await _relations(session, 1001))[0].debtorpublicid = "unknown-in-billecta"

    batch_id = await _run(session, ctx, ANONYMIZE_DEBTOR, [1001])

    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].status == "error"
    assert (logs[1001].message or "").startswith("Creditor 1 (Acme AB): Billecta found nothing")
    debtor = await session.get(Debtor, 1001, populate_existing=True)
    assert debtor is not None and not debtor.anonymized and debtor.name == "Debtor 1001"


async def test_anonymizing_a_debtor_never_synced_only_scrubs_the_mirror(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001)
    batch_id = await _run(session, ctx, ANONYMIZE_DEBTOR, [1001])
    _, logs = await batch_and_logs(session, batch_id)
    assert (logs[1001].status, logs[1001].message) == (
        "ok",
        "Anonymized (not in Billecta) in the gateway",
    )
    assert fake.sent == []


async def test_an_anonymized_debtor_is_not_upserted(
    session: AsyncSession, ctx: dict[str, Any], fake: FakeBillecta
) -> None:
    await add_creditor(session)
    await add_debtor(session, 1001, anonymized=True)
    batch_id = await _run(session, ctx, UPSERT_DEBTOR, [1001])
    _, logs = await batch_and_logs(session, batch_id)
    assert logs[1001].message == "debtor 1001 is anonymized"
    assert fake.sent == []
