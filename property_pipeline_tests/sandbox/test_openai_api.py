"""The OpenAI stand-in, read directly and driven by the real `openai` SDK."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Literal

import httpx
import openai
import pydantic
import pytest

from property_pipeline.sandbox import openai_api
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.openai_api import (
    MISSING,
    Finding,
    SchemaFiller,
    read_prompt,
    reading_for,
    strict_schema_problem,
)
from property_pipeline.sandbox.server import SandboxServer

SANDBOX_DAY = dt.date(2026, 3, 2)
CONFIG = SandboxConfig(date=SANDBOX_DAY)
BLOCK_LISTING = (
    "Leasehold block of six self-contained flats with 62 years remaining on the lease. "
    "Cash buyers only. Sold on behalf of the executors: a probate sale. "
    "There is no evidence of subsidence. The building needs modernisation throughout. "
    "Guide price £450,000."
)
ANALYST_BRIEF = "You read UK listings. Flag short lease, knotweed, subsidence and probate."


class ListingRead(pydantic.BaseModel):
    units: int
    tenure: Literal["freehold", "leasehold", "share_of_freehold", "unknown"]
    lease_years_remaining: int | None
    condition: Literal["good", "needs_modernisation", "derelict"]
    red_flags: list[str]
    motivated_seller_signals: list[str]
    summary: str


def messages(listing: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": ANALYST_BRIEF}, {"role": "user", "content": listing}]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(CONFIG, upstreams={"openai": openai_api.routes}) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> openai.OpenAI:
    """A client of the shared server, which starts each test with no faults and empty logs."""
    server.context.reset()
    return openai.OpenAI(base_url=server.url("openai"), api_key="sk-sandbox", max_retries=2)


def test_reading_takes_units_tenure_lease_and_condition_from_the_text() -> None:
    reading = read_prompt(BLOCK_LISTING)

    assert (reading.units, reading.tenure, reading.lease_years) == (6, "leasehold", 62)
    assert (reading.condition, reading.price) == ("needs_modernisation", 450_000)


def test_reading_flags_phrases_but_not_negated_ones() -> None:
    reading = read_prompt(BLOCK_LISTING)

    assert [(flag.label, flag.severity) for flag in reading.red_flags] == [
        ("cash buyers only", "major"),
        ("short lease", "major"),
    ]
    assert [signal.label for signal in reading.signals] == ["probate"]


@pytest.mark.parametrize(
    ("text", "units", "tenure"),
    [
        ("Freehold HMO licensed for 7 sharers.", 7, "freehold"),
        ("Share of freehold flat, converted into three flats in 1990.", 3, "share_of_freehold"),
        ("A pretty two bedroom cottage.", 1, None),
    ],
)
def test_reading_counts_units_in_the_ways_listings_state_them(
    text: str, units: int, tenure: str | None
) -> None:
    reading = read_prompt(text)

    assert (reading.units, reading.tenure) == (units, tenure)


def test_a_very_short_lease_is_graded_a_kill() -> None:
    reading = read_prompt("Leasehold flat, 45 years left. Japanese knotweed in the garden.")

    assert [(flag.label, flag.severity) for flag in reading.red_flags] == [
        ("japanese knotweed", "major"),
        ("short lease", "kill"),
    ]


@pytest.mark.parametrize(
    ("text", "annual_rent"),
    [("Let at £1,250 pcm.", 15_000), ("Shop let at £9,000 per annum.", 9_000), ("Vacant.", None)],
)
def test_reading_turns_a_stated_rent_into_a_yearly_figure(
    text: str, annual_rent: int | None
) -> None:
    assert read_prompt(text).annual_rent == annual_rent


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("numberOfUnits", 6),
        ("lease_years_remaining", 62),
        ("current_value", MISSING),
        ("has_cash_buyers_only", True),
        ("japanese_knotweed", False),
    ],
)
def test_fields_are_recognised_by_the_words_in_their_names(field: str, expected: object) -> None:
    value = reading_for(field, read_prompt(BLOCK_LISTING))

    assert (value, type(value)) == (expected, type(expected))


def test_filler_resolves_refs_enums_nullables_and_finding_objects() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tenure": {"enum": ["Freehold", "Leasehold", "Unknown"]},
            "lease_years_remaining": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "red_flags": {"type": "array", "items": {"$ref": "#/$defs/Flag"}},
            "units": {"type": "integer", "minimum": 1, "maximum": 4},
        },
        "$defs": {
            "Flag": {
                "type": "object",
                "properties": {"phrase": {"type": "string"}, "evidence": {"type": "string"}},
            }
        },
    }
    reading = read_prompt("Freehold block of 6 flats. Subsidence noted in 2019.")

    value = SchemaFiller(schema, reading, SANDBOX_DAY).value(schema)

    assert value == {
        "tenure": "Freehold",
        "lease_years_remaining": None,
        "red_flags": [{"phrase": "subsidence", "evidence": "subsidence"}],
        "units": 4,
    }


def test_filler_keeps_only_array_items_the_enum_allows_and_pads_to_min_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "risks": {"type": "array", "items": {"enum": ["short_lease", "cladding"]}},
            "comparables": {"type": "array", "minItems": 2, "items": {"type": "string"}},
            "inspected_on": {"type": "string", "format": "date"},
        },
    }
    reading = read_prompt("Short lease. Cash only. EWS1 form outstanding.")

    value = SchemaFiller(schema, reading, SANDBOX_DAY).value(schema)

    assert value == {
        "risks": ["short_lease", "cladding"],
        "comparables": ["not stated", "not stated"],
        "inspected_on": "2026-03-02",
    }


def test_strict_schema_problem_names_the_object_that_allows_extra_keys() -> None:
    schema = {
        "type": "object",
        "properties": {"deal": {"type": "object", "properties": {"units": {"type": "integer"}}}},
        "required": ["deal"],
        "additionalProperties": False,
    }

    assert strict_schema_problem(schema) == (
        "the object at root.deal must set additionalProperties to false"
    )


def test_sdk_parse_returns_a_model_read_from_the_user_message(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="gpt-4o-mini", messages=messages(BLOCK_LISTING), response_format=ListingRead
    )

    parsed = completion.choices[0].message.parsed
    assert parsed == ListingRead(
        units=6,
        tenure="leasehold",
        lease_years_remaining=62,
        condition="needs_modernisation",
        red_flags=["cash buyers only", "short lease"],
        motivated_seller_signals=["probate"],
        summary=(
            "Leasehold with 62 years left on the lease, 6 units, condition needs modernisation. "
            "Asking £450,000. Red flags: cash buyers only, short lease. Seller signals: probate."
        ),
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"


def test_same_request_gets_the_same_id_and_a_created_time_from_the_sandbox_day(
    client: openai.OpenAI,
) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages("A flat."))
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages("A flat."))
    other = client.chat.completions.create(model="gpt-4o-mini", messages=messages("A house."))

    assert first.id == second.id != other.id
    assert first.id.startswith("chatcmpl-")
    assert first.created == int(dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC).timestamp())


def test_usage_counts_about_a_token_per_four_characters(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * 400}]
    )
    content = completion.choices[0].message.content or ""

    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 100 + 4 + 3
    assert completion.usage.completion_tokens == -(-len(content) // 4)
    assert completion.usage.total_tokens == 107 + completion.usage.completion_tokens


def test_max_completion_tokens_cuts_the_answer_with_finish_reason_length(
    client: openai.OpenAI,
) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages(BLOCK_LISTING), max_completion_tokens=5
    )

    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "Leasehold with 62 ye"
    assert completion.usage is not None and completion.usage.completion_tokens == 5


def test_json_object_mode_answers_the_reading_as_json(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages(BLOCK_LISTING + " Reply in JSON."),
        response_format={"type": "json_object"},
    )

    answer = json.loads(completion.choices[0].message.content or "")
    assert (answer["units"], answer["tenure"], answer["lease_years_remaining"]) == (
        6,
        "leasehold",
        62,
    )


def test_sdk_retries_a_rate_limit_then_succeeds(
    client: openai.OpenAI, server: SandboxServer
) -> None:
    server.context.faults.add(FaultSpec("openai", "rate_limit", count=2, retry_after=0))

    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages("A flat."))

    assert completion.object == "chat.completion"
    assert server.context.faults.active() == []
    assert len(server.context.openai_requests.entries()) == 1


def test_sdk_retries_a_server_error_then_succeeds(
    client: openai.OpenAI, server: SandboxServer
) -> None:
    server.context.faults.add(FaultSpec("openai", "server_error", status=500, count=1))

    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages("A flat."))

    assert completion.choices[0].message.role == "assistant"
    assert server.context.faults.active() == []


def test_rate_limit_outlasting_the_retries_surfaces_in_openai_envelope(
    server: SandboxServer,
) -> None:
    client = openai.OpenAI(base_url=server.url("openai"), api_key="sk-sandbox", max_retries=0)
    server.context.faults.add(FaultSpec("openai", "rate_limit", count=1, retry_after=3))

    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages("A flat."))

    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.type == "requests"
    assert refused.value.response.headers["retry-after"] == "3"


def test_a_non_strict_schema_in_strict_mode_is_a_400_naming_the_object(
    client: openai.OpenAI,
) -> None:
    loose = {"type": "object", "properties": {"units": {"type": "integer"}}}

    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages("A flat."),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "listing", "schema": loose, "strict": True},
            },
        )

    assert refused.value.param == "response_format"
    assert "object at root must set additionalProperties to false" in refused.value.message


def test_a_request_without_a_key_is_a_401_in_openai_envelope(server: SandboxServer) -> None:
    response = httpx.post(
        f"{server.url('openai')}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_a_request_without_a_model_names_the_model_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="", messages=messages("A flat."))

    assert refused.value.param == "model"


def test_models_lists_the_sandbox_models(client: openai.OpenAI) -> None:
    names = [model.id for model in client.models.list()]

    assert names == list(openai_api.MODELS)


def test_control_api_lists_the_requests_received(
    client: openai.OpenAI, server: SandboxServer
) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=messages("A flat."))

    recorded = httpx.get(f"{server.base_url}/_sandbox/openai/requests").json()["requests"]

    assert [(entry["id"], entry["status"]) for entry in recorded] == [(completion.id, 200)]
    assert recorded[0]["body"]["messages"][1] == {"role": "user", "content": "A flat."}


def test_finding_evidence_is_the_prompt_wording() -> None:
    reading = read_prompt("Offered with NO ONWARD CHAIN; re-listed after a fall-through.")

    assert reading.signals == (
        Finding("no onward chain", "no onward chain", "opportunity"),
        Finding("back on market", "re-listed", "opportunity"),
    )
