"""Field mappings: which Lime property fills which Billecta field (DESIGN §5).

The mapping ships as `data/field_mappings.toml` and is replaced by `FIELD_MAPPINGS_FILE`. One
table per Billecta view; each key is a Billecta field (a dot reaches a nested object), each
value a Lime property path (a dot follows a relation) or a list of paths whose first set value
wins. `load_field_mappings(settings, schema)` checks every path against the LimeSchema and every
Billecta field against the view's known fields at start-up, so a typo stops the service with a
message naming it instead of silently sending nothing.

Reading the mapped values of an object and writing them over Billecta's view is
`tasks.values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from billecta_gateway.config import ConfigurationError, Settings, load_toml
from billecta_gateway.lime.schema import LimeSchema, LimetypeSpec, PropertySpec

PACKAGED_FILE = "field_mappings.toml"

Kind = Literal["str", "int", "decimal", "amount", "bool", "date", "enum"]

# Lime option keys → Billecta enumeration names (billecta-api.md §5, DESIGN §4).
ENUMS: dict[str, dict[str, str]] = {
    "debtortype": {"private": "Private", "company": "Company"},
    "deliverymethod": {
        "email": "Email",
        "mail": "Mail",
        "sms": "SMS",
        "einvoice": "EInvoice",
        "kivra": "Kivra",
        "manual": "Manually",
    },
    "language": {"sv": "SV", "en": "EN", "fi": "FI"},
    "producttype": {"standard": "Service", "package": "Package"},
}
EXTRA_ENUM_NAMES: dict[str, tuple[str, ...]] = {
    "debtortype": ("Undefined",),
    "deliverymethod": ("Avy",),
    "producttype": ("Commodity", "VAT"),
}


@dataclass(frozen=True)
class BillectaField:
    """A Billecta field a mapping may fill, with the kind of value Billecta expects."""

    kind: Kind
    enum: str | None = None


def _fields(kind: Kind, names: str, prefix: str = "") -> dict[str, BillectaField]:
    """Fields of one kind, named in a space-separated list (Billecta's spelling)."""
    return {f"{prefix}{name}": BillectaField(kind) for name in names.split()}


def _enum(name: str, table: str) -> dict[str, BillectaField]:
    return {name: BillectaField("enum", table)}


# billecta-api.md §4.3: DefaultActionConfigView (creditors), also DebtorView.DefaultActionConfig.
_DEFAULT_CONFIG: dict[str, BillectaField] = {
    **_enum("DeliveryMethod", "deliverymethod"),
    **_enum("CommunicationLanguage", "language"),
    **_fields(
        "str",
        "StartDebtCollectionActionLevel EndDebtCollectionActionLevel InterestType "
        "ReasonForHigherInterest OurReference CurrencyCode InvoiceComment",
    ),
    **_fields(
        "int",
        "PaymentTermsInDays DebtCollectionPaymentTermsInDays InterestTermsInDays "
        "InvoicePaymentTermsInDays InterestStartInDaysAfterDueDate NumberOfReminders "
        "SendInvoiceToDebtCollectionAfterDays SendReminderInvoiceDaysAfterDueDate "
        "SendByMailIfEmailNotViewedInDays ReminderInvoicePaymentTermsInDays",
    ),
    **_fields("decimal", "InterestPercentage InvoiceFee ReminderInvoiceFee"),
    **_fields(
        "bool",
        "SendInvoiceToDebtCollection IncludePdfInEmail SendReminderInvoice "
        "SendByMailIfEmailNotViewedInDaysEnabled",
    ),
}
_CONTACT = "FirstName LastName Email Phone"
_ADDRESS = "Address Address2 ZipCode City"


@dataclass(frozen=True)
class ViewSpec:
    """One mapping table: the Billecta view it fills and the limetype it reads from."""

    section: str
    view: str
    limetype: str
    fields: dict[str, BillectaField]
    # Fields the gateway sets itself (ids, external ids, rows): mapping them is refused.
    reserved: frozenset[str] = frozenset()
    # Extra path roots: the relation object being synced alongside the main object.
    roots: Mapping[str, str] = field(default_factory=dict)


def _reserved(names: str) -> frozenset[str]:
    return frozenset(names.split())


# The fields of billecta-api.md §4 a mapping may fill.
VIEWS: dict[str, ViewSpec] = {
    "debtor": ViewSpec(
        section="debtor",
        view="DebtorView",
        limetype="debtor",
        roots={"creditordebtor": "creditordebtor"},
        fields={
            **_fields(
                "str",
                f"OrgNo Name Attention CareOf {_ADDRESS} CountryCode CitizenshipCountryCode "
                "Phone Email ContactName ContactEmail VatNumber DebtorNo GLN Intermediator "
                "EInvoiceBank Notes",
            ),
            **_fields("bool", "IsActive ProtectedIdentity UseProtectedMailDelivery"),
            **_enum("DebtorType", "debtortype"),
            **_fields("bool", "ActivateDefaultActionConfigOverride", "DefaultActionConfig."),
            **{f"DefaultActionConfig.{k}": v for k, v in _DEFAULT_CONFIG.items()},
        },
        reserved=_reserved("DebtorPublicId CreditorPublicId DebtorExternalId Autogiro CreditCards"),
    ),
    "article": ViewSpec(
        section="article",
        view="ProductView",
        limetype="article",
        roots={"creditorarticle": "creditorarticle"},
        fields={
            **_fields("str", "ArticleNumber Description Units ConfigurationCode"),
            **_fields("bool", "IsActive"),
            **_fields("decimal", "UnitPrice VAT"),
            **_fields(
                "int",
                "BookKeepingAccount BookKeepingSalesEUAccount BookKeepingSalesEUVATAccount "
                "BookKeepingSalesNonEUAccount BookKeepingPurchaseAccount BookKeepingVATAccount "
                "BookKeepingPurchaseVATAccount",
            ),
            **_enum("ProductType", "producttype"),
        },
        reserved=_reserved("ProductPublicId CreditorPublicId ProductExternalId"),
    ),
    "creditor": ViewSpec(
        section="creditor",
        view="CreditorView",
        limetype="creditor",
        fields={
            **_fields(
                "str",
                f"OrgNo Name Attention CareOf {_ADDRESS} CountryCode Phone VatNumber "
                "Residence GLN LogoURL",
            ),
            **_fields("str", _CONTACT, "CreditorContact."),
            **_fields("str", _CONTACT, "CreditorClaimsContact."),
            **_fields("str", _CONTACT, "CreditorSignatoryContact."),
            **_fields("str", f"{_ADDRESS} CountryCode Email", "CreditorInvoiceAddress."),
        },
        reserved=_reserved("CreditorPublicId CreditorBankInfo IsEnabled"),
    ),
    "creditordefaults": ViewSpec(
        section="creditordefaults",
        view="DefaultActionConfigView",
        limetype="creditor",
        fields=dict(_DEFAULT_CONFIG),
        reserved=_reserved("CreditorPublicId"),
    ),
    "order": ViewSpec(
        section="order",
        view="InvoiceActionEntryView",
        limetype="order",
        fields={
            **_fields("date", "InvoiceDate DueDate DeliveryDate InvoiceSendDateOverride"),
            **_fields(
                "str",
                "ReasonForHigherInterest InterestType OurReference YourReference Message "
                "InvoiceNumber",
            ),
            **_fields("decimal", "InterestPercentage"),
            **_fields("int", "InterestStartInDaysAfterDueDate SendByMailIfEmailNotViewedInDays"),
            **_fields("amount", "InvoiceFee FreightFee"),
            **_fields("bool", "VatIsIncluded UseDebtorBalance"),
            **_enum("DeliveryMethod", "deliverymethod"),
            **_enum("CommunicationLanguage", "language"),
            **_fields(
                "str",
                f"Name Attention CareOf {_ADDRESS} Email Phone OrgNo GLN",
                "DeliveryAddressOverride.",
            ),
            **_fields("bool", "SendReminderInvoice", "ReminderInvoiceDetails."),
            **_fields("int", "DaysDelayAfterDueDate", "ReminderInvoiceDetails."),
            **_fields(
                "bool",
                "SendToDebtCollection Eviction InformSocialWelfare",
                "DebtCollectionDetails.",
            ),
            **_fields(
                "int",
                "NumberOfReminders DaysDelayAfterDueDate PaymentTermsInDays",
                "DebtCollectionDetails.",
            ),
        },
        reserved=_reserved(
            "ActionType CreditorPublicId DebtorPublicId Records ExternalReference "
            "CreditingInvoicePublicId"
        ),
    ),
    "orderrow": ViewSpec(
        section="orderrow",
        view="InvoiceActionRecordView",
        limetype="orderrow",
        fields={
            **_fields(
                "str",
                "Units ArticleDescription ArticleNumber DiscountType CostCenter Project "
                "ExternalReference",
            ),
            **_fields("decimal", "Quantity DiscountPercentage VAT"),
            **_fields("amount", "UnitPrice DiscountAmount"),
            **_fields("date", "PeriodStart PeriodEnd"),
            **_fields("bool", "VatIsIncluded Hidden"),
        },
        reserved=_reserved("ProductPublicId SequenceNo RecordType"),
    ),
}

# Which Lime property kinds can fill which Billecta kind (checked at start-up).
_COMPATIBLE: dict[Kind, frozenset[str]] = {
    "str": frozenset({"string", "integer", "decimal", "date", "datetime", "boolean", "option"}),
    "int": frozenset({"integer", "decimal", "string"}),
    "decimal": frozenset({"integer", "decimal"}),
    "amount": frozenset({"integer", "decimal"}),
    "bool": frozenset({"boolean"}),
    "date": frozenset({"date", "datetime"}),
    "enum": frozenset({"option", "string"}),
}


class MappingValueError(ValueError):
    """A Lime value that cannot become its Billecta field; the message names both."""


@dataclass(frozen=True)
class FieldMapping:
    """One Billecta field and the Lime paths that fill it (the first set value wins)."""

    target: str
    sources: tuple[tuple[str, ...], ...]
    spec: BillectaField


@dataclass(frozen=True)
class SectionMapping:
    """The mapping of one Billecta view."""

    view: ViewSpec
    fields: tuple[FieldMapping, ...]

    def properties_of(self, root: str) -> frozenset[str]:
        """The properties of the main object (or of an extra root) some path starts with."""
        names: set[str] = set()
        for mapping in self.fields:
            for path in mapping.sources:
                if root == self.view.limetype and path[0] not in self.view.roots:
                    names.add(path[0])
                elif path[0] == root and root in self.view.roots and len(path) > 1:
                    names.add(path[1])
        return frozenset(names)


@dataclass(frozen=True)
class FieldMappings:
    """Every mapping table, validated against the LimeSchema."""

    sections: dict[str, SectionMapping]
    source: str

    def __getitem__(self, section: str) -> SectionMapping:
        return self.sections[section]

    def mapped_properties(self, limetype: str) -> frozenset[str]:
        """Properties of `limetype` that some mapping reads (directly or as the synced relation).

        A change to any other property pushes nothing to Billecta (the spec's `is_dirty()`).
        """
        names: set[str] = set()
        for section in self.sections.values():
            if section.view.limetype == limetype:
                names |= section.properties_of(limetype)
            for root, root_type in section.view.roots.items():
                if root_type == limetype:
                    names |= section.properties_of(root)
        return frozenset(names)

    def read_through(self, limetype: str, relation: str) -> frozenset[str]:
        """Properties of the object `relation` names that the mappings of `limetype` read
        (`person.email` on a debtor: `email` through `person`), so a change of them there
        is a change of what Billecta gets for `limetype`."""
        names: set[str] = set()
        for section in self.sections.values():
            if section.view.limetype != limetype:
                continue
            for mapping in section.fields:
                for path in mapping.sources:
                    if len(path) > 1 and path[0] == relation:
                        names.add(path[1])
        return frozenset(names)


def _fail(source: str, section: str, target: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"Field mapping {source} [{section}] {target}: {message}")


def _check_path(
    schema: LimeSchema, view: ViewSpec, raw: str, fail: Any
) -> tuple[tuple[str, ...], PropertySpec]:
    """The path as segments and the property it ends on, or a ConfigurationError naming it."""
    if not isinstance(raw, str) or not raw.strip():
        raise fail("a Lime property path must be a non-empty string")
    parts = tuple(raw.strip().split("."))
    if any(not part for part in parts):
        raise fail(f"'{raw}' is not a valid property path")
    spec = schema.get(view.limetype)
    assert spec is not None
    current: LimetypeSpec = spec
    index = 0
    if parts[0] in view.roots and len(parts) > 1:
        root = schema.get(view.roots[parts[0]])
        assert root is not None
        current, index = root, 1
    for part in parts[index:-1]:
        prop = current.property(part)
        if prop is None:
            raise fail(f"'{raw}': '{part}' is not a property of {current.name}")
        if prop.kind != "relation" or prop.relation is None:
            raise fail(f"'{raw}': '{part}' of {current.name} is not a relation to follow")
        target = schema.get(prop.relation)
        if target is None:
            raise fail(f"'{raw}': the relation '{part}' leads to an unknown limetype")
        current = target
    last = parts[-1]
    if last == "_id":
        return parts, PropertySpec(name="_id", kind="integer")
    prop = current.property(last)
    if prop is None:
        raise fail(f"'{raw}': '{last}' is not a property of {current.name}")
    if prop.kind in ("relation", "json"):
        raise fail(f"'{raw}': '{last}' of {current.name} is a {prop.kind}, not a value")
    return parts, prop


def build_field_mappings(
    data: Mapping[str, Any], schema: LimeSchema, *, source: str = PACKAGED_FILE
) -> FieldMappings:
    """Validate decoded TOML against the views and the LimeSchema; ConfigurationError if wrong."""
    unknown = sorted(set(data) - set(VIEWS))
    if unknown:
        raise ConfigurationError(
            f"Field mapping {source}: unknown table(s) {', '.join(unknown)}; use {', '.join(VIEWS)}"
        )
    sections: dict[str, SectionMapping] = {}
    for name, view in VIEWS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigurationError(f"Field mapping {source}: [{name}] must be a table")
        mappings: list[FieldMapping] = []
        for target, value in table.items():

            def fail(message: str, section: str = name, target: str = target) -> ConfigurationError:
                return _fail(source, section, target, message)

            if target in view.reserved or target.split(".", 1)[0] in view.reserved:
                raise fail(f"{target} is set by the gateway and cannot be mapped")
            billecta = view.fields.get(target)
            if billecta is None:
                raise fail(f"{target} is not a field of Billecta's {view.view} the gateway knows")
            raw_paths = value if isinstance(value, list) else [value]
            if not raw_paths:
                raise fail("give at least one Lime property path")
            paths: list[tuple[str, ...]] = []
            for raw in raw_paths:
                parts, prop = _check_path(schema, view, raw, fail)
                if prop.kind not in _COMPATIBLE[billecta.kind]:
                    raise fail(
                        f"'{raw}' is a {prop.kind} property and cannot fill {target} "
                        f"(Billecta expects a value of kind {billecta.kind})"
                    )
                if billecta.kind == "enum" and prop.kind == "option":
                    allowed = set(ENUMS[billecta.enum or ""]) | set(
                        ENUMS[billecta.enum or ""].values()
                    )
                    foreign = [o for o in prop.options if o not in allowed]
                    if foreign:
                        raise fail(
                            f"'{raw}' has option(s) {', '.join(foreign)} that Billecta's "
                            f"{target} has no value for"
                        )
                paths.append(parts)
            mappings.append(FieldMapping(target=target, sources=tuple(paths), spec=billecta))
        sections[name] = SectionMapping(view=view, fields=tuple(mappings))
    return FieldMappings(sections=sections, source=source)


def load_field_mappings(settings: Settings, schema: LimeSchema) -> FieldMappings:
    """The field mappings of `FIELD_MAPPINGS_FILE` (else the shipped ones), validated.

    Raises ConfigurationError naming the table, the Billecta field and the bad Lime path.
    """
    path: Path | None = settings.field_mappings_file
    data = load_toml(path, PACKAGED_FILE)
    return build_field_mappings(data, schema, source=str(path) if path else PACKAGED_FILE)


_CACHE: dict[tuple[str | None, int], tuple[LimeSchema, FieldMappings]] = {}


def field_mappings_for(settings: Settings, schema: LimeSchema) -> FieldMappings:
    """The validated mappings for these settings and schema, loaded once per process."""
    key = (str(settings.field_mappings_file) if settings.field_mappings_file else None, id(schema))
    cached = _CACHE.get(key)
    if cached is None or cached[0] is not schema:
        cached = (schema, load_field_mappings(settings, schema))
        _CACHE[key] = cached
    return cached[1]
