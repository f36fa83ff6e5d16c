"""Products (articles): create, replace, look up by external id, delete unless used."""

from __future__ import annotations

from typing import Any

from billecta_gateway.sandbox.state import Product, bad_request, not_found
from billecta_gateway.sandbox.wire import Call, handles


def _stored_view(product_id: str, data: dict[str, Any]) -> dict[str, Any]:
    defaults = {"IsActive": True, "ProductType": "Service", "VAT": 25, "Units": "st"}
    return defaults | data | {"ProductPublicId": product_id}


@handles("create_product")
def create_product(call: Call) -> dict[str, Any]:
    store, data = call.store, dict(call.wire)
    creditor = store.creditor(data["CreditorPublicId"], status=400)
    product_id = store.ids.new("product")
    store.products[product_id] = Product(
        product_id, creditor.public_id, _stored_view(product_id, data)
    )
    store.index_add(
        store.product_by_external,
        (creditor.public_id, data.get("ProductExternalId") or ""),
        product_id,
    )
    return {"PublicId": product_id}


@handles("update_product")
def update_product(call: Call) -> None:
    store, data = call.store, dict(call.wire)
    product_id = data.get("ProductPublicId")
    if not product_id:
        raise bad_request(
            "The request is invalid: ProductPublicId is required to update a product."
        )
    product = store.product(product_id)
    if data["CreditorPublicId"] != product.creditor_id:
        raise bad_request(
            f"Product {product_id} does not belong to creditor {data['CreditorPublicId']}"
        )
    old_external = product.view.get("ProductExternalId") or ""
    product.view = _stored_view(product_id, data)
    new_external = product.view.get("ProductExternalId") or ""
    if new_external != old_external:
        store.index_remove(
            store.product_by_external, (product.creditor_id, old_external), product_id
        )
        store.index_add(store.product_by_external, (product.creditor_id, new_external), product_id)


@handles("get_product")
def get_product(call: Call) -> dict[str, Any]:
    return dict(call.store.product(call.param("product_public_id")).view)


@handles("get_product_by_external_id")
def get_product_by_external_id(call: Call) -> dict[str, Any]:
    store = call.store
    creditor_id = call.param("creditor_public_id")
    external_id = call.query_value("externalid") or ""
    store.creditor(creditor_id)
    found = store.product_by_external.get((creditor_id, external_id), [])
    if not found:
        raise not_found(f"No product with external id {external_id} was found")
    if len(found) > 1:
        raise bad_request(
            f"More than one product has the external id {external_id}; "
            "the external id is not unique"
        )
    return dict(store.products[found[0]].view)


@handles("delete_product")
def delete_product(call: Call) -> None:
    store = call.store
    product = store.product(call.param("product_public_id"))
    if store.product_usage.get(product.public_id, 0) > 0:
        raise bad_request("The product can not be deleted since it is used on one or more invoices")
    del store.products[product.public_id]
    store.index_remove(
        store.product_by_external,
        (product.creditor_id, product.view.get("ProductExternalId") or ""),
        product.public_id,
    )
