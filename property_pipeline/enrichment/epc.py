"""EPC certificates for listings, from MHCLG's "get energy performance of buildings data" API.

`lookup_certificates` searches the register once per distinct postcode (every page of
`/api/domestic/search`), caches the answers in the warehouse (enrichment/epc_cache.py), picks
each listing's certificate (enrichment/epc_match.py) and fetches `/api/certificate` only for
the certificates whose floor area, type and age it needs, since search rows carry only the
number, address, UPRN, band and lodgement date. A postcode whose lookup fails gives its
listings an `epc_error` and is searched again on the next run; other postcodes are unaffected.
A refused token stops the step with an error naming EPC_API_TOKEN, never the token.

Known limits: when a stale postcode fails to refresh, its older cached certificates are not
used (the listings wait with the error rather than take data past `cache_days`); and the
UPRN route only helps when the listing carries a UPRN, which portal listings rarely do.

Numeric codes (property type, built form, age band) are decoded with the RdSAP code lists the
register publishes at `/api/codes/info`, held here as constants: their meanings have not
changed across the schemas the register serves. A new code is kept as given.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import duckdb
import httpx
import pandas as pd
from pydantic import Field

from property_pipeline import settings
from property_pipeline.enrichment import epc_cache
from property_pipeline.enrichment.epc_match import (
    MATCH_THRESHOLD,
    Candidate,
    Match,
    address_key,
    match_certificate,
    normalise_postcode,
)
from property_pipeline.sources.fetch import retry_after_seconds

logger = logging.getLogger("property_pipeline.enrichment.epc")

DEFAULT_BASE_URL = "https://api.get-energy-performance-data.communities.gov.uk"
TOKEN_ENV_VAR = settings.EPC_TOKEN_ENV
BASE_URL_ENV_VAR = settings.EPC_URL_ENV
SEARCH_PATH = "/api/domestic/search"
CERTIFICATE_PATH = "/api/certificate"
MAX_PAGE_SIZE = 5000
# A postcode holds a few dozen certificates; more pages than this means paging has gone wrong.
MAX_PAGES = 50
MAX_BACKOFF_SECONDS = 60.0
# Answers are written to the cache this many at a time: one write per postcode cost more than
# the request itself, and a run cut short loses at most a batch, fetched again next time.
STORE_BATCH = 250
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NO_CERTIFICATES = "No certificates could be found"
USER_AGENT = "property-pipeline/0.1 (EPC lookups for UK property research)"

PROPERTY_TYPES = {"0": "House", "1": "Bungalow", "2": "Flat", "3": "Maisonette", "4": "Park home"}
BUILT_FORMS = {
    "1": "Detached",
    "2": "Semi-Detached",
    "3": "End-Terrace",
    "4": "Mid-Terrace",
    "5": "Enclosed End-Terrace",
    "6": "Enclosed Mid-Terrace",
    "NR": "Not Recorded",
}
AGE_BANDS = {
    letter: f"England and Wales: {label}"
    for letter, label in (
        ("A", "before 1900"),
        ("B", "1900-1929"),
        ("C", "1930-1949"),
        ("D", "1950-1966"),
        ("E", "1967-1975"),
        ("F", "1976-1982"),
        ("G", "1983-1990"),
        ("H", "1991-1995"),
        ("I", "1996-2002"),
        ("J", "2003-2006"),
        ("K", "2007-2011"),
        ("L", "2012-2022"),
        ("M", "2023 onwards"),
    )
}
MATCH_COLUMNS = (
    "listing_key",
    "epc_certificate",
    "epc_match_method",
    "epc_match_confidence",
    "epc_rating",
    "epc_efficiency",
    "floor_area_sqm",
    "epc_property_type",
    "epc_built_form",
    "construction_age_band",
    "habitable_rooms",
    "epc_lodged_on",
    "epc_error",
)
SUBJECT_COLUMNS = ("listing_key", "postcode", "address", "property_type", "bedrooms")


class EpcResource(dg.ConfigurableResource):
    """The EPC register: where it is, the bearer token, how long answers are reused, and how
    patiently and politely it is asked. No token means the EPC step is skipped, not failed."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description=f"API root; the sandbox's is <sandbox>/epc (env {BASE_URL_ENV_VAR})",
    )
    token: str | None = Field(
        default=None, description=f"bearer token (env {TOKEN_ENV_VAR}); None disables EPC"
    )
    cache_days: int = Field(default=30, description="reuse a postcode's search this many days")
    timeout: float = Field(default=30.0, description="seconds to wait for one response")
    retries: int = Field(default=3, description="tries after the first on 429, 5xx, timeouts")
    backoff_seconds: float = Field(default=1.0, description="first wait between tries, doubling")
    max_retry_after_seconds: float = Field(default=60.0, description="cap on a Retry-After")
    requests_per_second: float = Field(
        default=2.0, description="pace; the register allows 6000 requests per 5 minutes"
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, description="search rows per page, 1-5000")
    concurrency: int = Field(
        default=4, ge=1, le=32, description="requests in flight at once, within the pace"
    )
    match_threshold: float = Field(
        default=MATCH_THRESHOLD, description="lowest address-match confidence accepted"
    )
    details_for: str = Field(
        default="matched",
        description="fetch full certificates for 'matched' ones only, or 'all' (the latest "
        "of each dwelling in the searched postcodes, for comparables' floor areas)",
    )

    @property
    def enabled(self) -> bool:
        """Whether a token is configured."""
        return bool(self.token)


class EpcLookupError(RuntimeError):
    """A register request that failed; the message names the postcode, the URL and why."""


class EpcAuthError(EpcLookupError):
    """The register refused the token: nothing else will work until it is replaced."""


@dataclass
class EpcOutcome:
    """Each listing's certificate (`matches`, columns MATCH_COLUMNS) and what it took."""

    matches: pd.DataFrame
    looked_up: int = 0
    from_cache: int = 0
    failed: int = 0
    requests: int = 0
    duration_s: float = 0.0
    disabled: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # postcode -> error


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EpcClient:
    """Paced, retried GETs to the register; use as a context manager.

    `sleep` and `clock` are injectable so tests can check the waits without waiting.
    """

    def __init__(
        self,
        settings: EpcResource,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.token:
            raise EpcAuthError(f"no EPC API token: set {TOKEN_ENV_VAR}")
        if not 1 <= settings.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"EPC page_size {settings.page_size} must be 1-{MAX_PAGE_SIZE}")
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            headers={
                "Authorization": f"Bearer {settings.token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            trust_env=not _is_loopback(self.base_url),
        )
        self.requests = 0
        self._sleep = sleep
        self._clock = clock
        self._next_slot = 0.0
        # Requests go out from several threads (EpcResource.concurrency); the pace is shared.
        self._pace_lock = threading.Lock()

    def __enter__(self) -> EpcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def search_postcode(self, postcode: str) -> list[dict[str, Any]]:
        """Every search row for a postcode, all pages; [] when the register has none."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {
                "postcode": postcode,
                "page_size": self.settings.page_size,
                "current_page": page,
            }
            body, url = self._get_json(SEARCH_PATH, params, postcode)
            if body is None:
                return rows
            data, next_page = _search_page(body, url, postcode)
            rows += data
            if next_page is None:
                return rows
            if next_page <= page or page >= MAX_PAGES:
                raise EpcLookupError(
                    f"EPC search for postcode {postcode} at {url}: paging went from page {page} "
                    f"to {next_page}; stopped after {page} pages"
                )
            page = next_page

    def certificate(self, certificate_number: str, postcode: str) -> dict[str, Any]:
        """The full certificate's document (the `data` object of `/api/certificate`)."""
        params = {"certificate_number": certificate_number}
        body, url = self._get_json(CERTIFICATE_PATH, params, postcode)
        if body is None:
            raise EpcLookupError(
                f"EPC certificate {certificate_number} for postcode {postcode} at {url}: "
                "the register has no such certificate"
            )
        document = body.get("data") if isinstance(body, dict) else None
        if not isinstance(document, dict) or not (
            "registration_date" in document or "current_energy_efficiency_band" in document
        ):
            raise EpcLookupError(
                f"EPC certificate {certificate_number} for postcode {postcode} at {url}: "
                "unexpected response structure (no data.registration_date); the API may have "
                "changed, see ../shared/reference/open-data.md"
            )
        return document

    def _get_json(
        self, path: str, params: Mapping[str, Any], postcode: str
    ) -> tuple[Any | None, str]:
        """The decoded JSON body and the URL asked; None for the register's "nothing found"
        404. Retries 429 (after its Retry-After), 5xx, timeouts, dropped connections and
        unreadable JSON; refuses to retry a rejected token."""
        url = str(httpx.URL(self.base_url + path, params=dict(params)))
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            self._wait_turn()
            asked: float | None = None
            try:
                response = self.client.get(url)
            except httpx.TimeoutException as error:
                reason = f"timed out after {self.settings.timeout:g} s ({type(error).__name__})"
            except httpx.TransportError as error:
                reason = f"{type(error).__name__}: {error}".rstrip(": ")
            else:
                status = response.status_code
                if status in (401, 403):
                    raise EpcAuthError(
                        f"the EPC register refused the API token (HTTP {status}) at {url}: set "
                        f"{TOKEN_ENV_VAR} to the bearer token shown on your account page at "
                        "get-energy-performance-data.communities.gov.uk"
                    )
                if status in RETRY_STATUSES:
                    reason = f"HTTP {status}"
                    asked = retry_after_seconds(
                        response.headers.get("retry-after"), dt.datetime.now(dt.UTC)
                    )
                elif status == 404 and NO_CERTIFICATES in _error_message(response):
                    return None, url
                elif not 200 <= status < 300:
                    raise EpcLookupError(
                        f"EPC lookup for postcode {postcode} at {url} failed: HTTP {status} "
                        f"{_error_message(response)}".rstrip()
                    )
                else:
                    try:
                        return response.json(), url
                    except ValueError:
                        reason = f"invalid JSON ({len(response.content)} bytes)"

            if attempt == attempts:
                plural = "" if attempts == 1 else "s"
                raise EpcLookupError(
                    f"EPC lookup for postcode {postcode} at {url} failed after {attempts} "
                    f"attempt{plural}: {reason}"
                )
            wait = self._retry_wait(attempt, asked)
            logger.warning(
                "EPC %s for %s: %s; retrying in %.2f s (attempt %d of %d)",
                path,
                postcode,
                reason,
                wait,
                attempt + 1,
                attempts,
            )
            self._sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _wait_turn(self) -> None:
        """Keep to `requests_per_second` across every request of this client, in any thread."""
        with self._pace_lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.settings.requests_per_second
            self.requests += 1
        if slot > now:
            self._sleep(slot - now)

    def _retry_wait(self, attempt: int, asked: float | None) -> float:
        if asked is not None:
            return min(asked, self.settings.max_retry_after_seconds)
        base = self.settings.backoff_seconds * 2 ** (attempt - 1)
        return min(MAX_BACKOFF_SECONDS, base * (0.5 + random.random()))


def _error_message(response: httpx.Response) -> str:
    """The register's error text: `{"data": {"error": ...}}` in code, `{"error": ...}` in the
    spec's examples; "" when the body has neither."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    inner = body.get("data")
    if isinstance(inner, dict) and isinstance(inner.get("error"), str):
        return inner["error"]
    return body["error"] if isinstance(body.get("error"), str) else ""


def _search_page(body: Any, url: str, postcode: str) -> tuple[list[dict[str, Any]], int | None]:
    """One search page's rows (keyed as the cache stores them) and the next page number."""
    data = body.get("data") if isinstance(body, dict) else None
    paging = body.get("pagination") if isinstance(body, dict) else None
    if not isinstance(data, list) or not isinstance(paging, dict):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise EpcLookupError(
            f"EPC search for postcode {postcode} at {url}: unexpected response structure "
            f"(expected 'data' and 'pagination', got {keys}); the API may have changed, see "
            "../shared/reference/open-data.md"
        )
    rows = []
    for row in data:
        if not isinstance(row, dict) or not row.get("certificateNumber"):
            raise EpcLookupError(
                f"EPC search for postcode {postcode} at {url}: a row has no certificateNumber"
            )
        rows.append(search_record(row, postcode))
    next_page = paging.get("nextPage")
    return rows, int(next_page) if next_page else None


def search_record(row: Mapping[str, Any], postcode: str) -> dict[str, Any]:
    """A search row as the cache keeps it: number, UPRN, address lines joined, band, date."""
    lines = [row.get(f"addressLine{index}") for index in range(1, 5)]
    address = ", ".join(str(line).strip() for line in lines if line and str(line).strip())
    band = row.get("currentEnergyEfficiencyBand")
    return {
        "certificate_number": str(row["certificateNumber"]),
        "uprn": _uprn(row.get("uprn")),
        "address": address,
        "post_town": row.get("postTown"),
        "address_key": address_key(address, postcode),
        "lodged_on": _date(row.get("registrationDate")),
        "epc_rating": str(band).upper() if band else None,
        "schema_type": row.get("schemaType"),
    }


def certificate_details(document: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a listing needs from a full certificate, codes decoded: efficiency score,
    floor area, property type, built form, construction age band and habitable rooms."""
    return {
        "epc_efficiency": _int(document.get("energy_rating_current")),
        "floor_area_sqm": _float(document.get("total_floor_area")),
        "property_type": _decode(document.get("property_type"), PROPERTY_TYPES),
        "built_form": _decode(document.get("built_form"), BUILT_FORMS),
        "construction_age_band": _decode(_main_age_band(document), AGE_BANDS),
        "habitable_rooms": _int(document.get("habitable_room_count")),
    }


def _main_age_band(document: Mapping[str, Any]) -> Any:
    """The main dwelling's construction age band (building part 1), or a top-level one."""
    parts = document.get("sap_building_parts")
    if isinstance(parts, list):
        main = [p for p in parts if isinstance(p, dict) and p.get("building_part_number") == 1]
        for part in main or [p for p in parts if isinstance(p, dict)]:
            if part.get("construction_age_band"):
                return part["construction_age_band"]
    return document.get("construction_age_band")


def _decode(value: Any, codes: Mapping[str, str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        value = value.get("value", value.get("description"))
    text = str(value).strip()
    return codes.get(text.upper(), text)


def _int(value: Any) -> int | None:
    try:
        return int(float(value)) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("value")
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _uprn(value: Any) -> int | None:
    """A UPRN as an integer from 12345, 12345.0 (a pandas column with gaps), "000012345" or the
    bulk files' "UPRN-000000012345"; None when missing or not a positive whole number."""
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None
    text = str(value).strip() if value is not None else ""
    text = text.removeprefix("UPRN-")
    return int(text) if text.isdigit() and int(text) > 0 else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _subject_frame(subjects: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in SUBJECT_COLUMNS if column not in subjects.columns]
    if missing:
        raise ValueError(
            f"EPC subjects are missing columns {missing}; give {list(SUBJECT_COLUMNS)} "
            "(and uprn when known)"
        )
    frame = subjects.copy()
    if "uprn" not in frame.columns:
        frame["uprn"] = None
    frame["lookup_postcode"] = [
        normalise_postcode(value) if isinstance(value, str) else None for value in frame["postcode"]
    ]
    return frame


def _unmatched(listing_key: str, error: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(MATCH_COLUMNS)
    row.update(
        listing_key=listing_key,
        epc_match_method="none",
        epc_match_confidence=0.0,
        epc_error=error,
    )
    return row


def _matches_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(MATCH_COLUMNS))


def lookup_certificates(
    epc: EpcResource,
    conn: duckdb.DuckDBPyConnection,
    subjects: pd.DataFrame,
    today: dt.date,
    log: logging.Logger | None = None,
) -> EpcOutcome:
    """Each listing's latest EPC: one row per subject listing_key, columns MATCH_COLUMNS.

    `subjects` has listing_key, postcode (may be None), address, property_type, bedrooms and,
    when known, uprn. Postcodes searched fewer than `epc.cache_days` days before `today` are
    served from the warehouse. A listing without a full postcode gets method 'none' and no
    error; a listing whose postcode (or certificate) lookup failed gets `epc_error`.
    """
    log = log or logger
    started = time.perf_counter()
    frame = _subject_frame(subjects)
    if not epc.enabled:
        log.info("EPC lookups skipped for %d listings: %s is not set", len(frame), TOKEN_ENV_VAR)
        rows = [_unmatched(key) for key in frame["listing_key"]]
        return EpcOutcome(_matches_frame(rows), disabled=True)

    postcodes = sorted({code for code in frame["lookup_postcode"] if code})
    fresh = epc_cache.fresh_postcodes(conn, postcodes, today, epc.cache_days)
    errors: dict[str, str] = {}
    with EpcClient(epc) as client:
        looked_up = _search_stale(client, conn, [p for p in postcodes if p not in fresh], today)
        errors.update(looked_up.errors)
        usable = [code for code in postcodes if code not in errors]
        certificates = epc_cache.certificates_for(conn, usable)
        chosen = _choose(frame, certificates, epc.match_threshold)
        wanted = _details_wanted(certificates, chosen, epc.details_for)
        detail_errors = _fetch_details(client, conn, wanted)
        requests = client.requests
    certificates = epc_cache.certificates_for(conn, usable)
    for number, error in detail_errors.items():
        postcode = certificates.loc[certificates["certificate_number"] == number, "postcode"]
        errors.setdefault(str(postcode.iloc[0]), error)

    rows = _match_rows(frame, chosen, certificates, errors, detail_errors)
    outcome = EpcOutcome(
        matches=_matches_frame(rows),
        looked_up=looked_up.count,
        from_cache=len(fresh),
        failed=len(errors),
        requests=requests,
        duration_s=round(time.perf_counter() - started, 3),
        errors=errors,
    )
    methods = outcome.matches["epc_match_method"].value_counts().to_dict()
    log.info(
        "EPC: %d listings, %d postcodes (%d searched, %d from cache, %d failed), %d requests in "
        "%.1f s; matches by method %s",
        len(frame),
        len(postcodes),
        outcome.looked_up,
        outcome.from_cache,
        outcome.failed,
        outcome.requests,
        outcome.duration_s,
        methods,
    )
    return outcome


@dataclass
class _Searched:
    count: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _search_stale(
    client: EpcClient, conn: duckdb.DuckDBPyConnection, postcodes: Sequence[str], today: dt.date
) -> _Searched:
    """Search each postcode and store the answer; a failure is recorded, not raised.

    Searches run `concurrency` at a time; answers are stored from this thread as they come.
    """
    searched = _Searched()
    answers: dict[str, list[dict[str, Any]]] = {}
    for postcode, outcome in _in_parallel(client, client.search_postcode, postcodes):
        if isinstance(outcome, EpcLookupError):
            searched.errors[postcode] = str(outcome)
            epc_cache.record_failure(conn, postcode, str(outcome), dt.datetime.now())
            continue
        answers[postcode] = outcome
        searched.count += 1
        if len(answers) >= STORE_BATCH:
            epc_cache.store_searches(conn, answers, today, dt.datetime.now())
            answers = {}
    epc_cache.store_searches(conn, answers, today, dt.datetime.now())
    return searched


def _in_parallel(
    client: EpcClient, fetch: Callable[..., Any], jobs: Sequence[Any]
) -> Iterator[tuple[Any, Any]]:
    """(job, result or EpcLookupError) for each job, fetched `concurrency` at a time, in order.

    A refused token stops everything: it is raised, and the jobs not started are dropped.
    """

    def attempt(job: Any) -> Any:
        try:
            return fetch(*job) if isinstance(job, tuple) else fetch(job)
        except EpcAuthError:
            raise
        except EpcLookupError as error:
            return error

    with ThreadPoolExecutor(max_workers=client.settings.concurrency) as pool:
        futures = [pool.submit(attempt, job) for job in jobs]
        try:
            for job, future in zip(jobs, futures, strict=True):
                yield job, future.result()
        finally:
            for future in futures:
                future.cancel()


def _candidates(certificates: pd.DataFrame) -> dict[str, list[Candidate]]:
    by_postcode: dict[str, list[Candidate]] = {}
    for row in certificates.itertuples(index=False):
        by_postcode.setdefault(row.postcode, []).append(
            Candidate(
                certificate_number=row.certificate_number,
                uprn=None if pd.isna(row.uprn) else int(row.uprn),
                address=row.address or "",
                lodged_on=pd.Timestamp(row.lodged_on).date()
                if not pd.isna(row.lodged_on)
                else dt.date.min,
                property_type=None if pd.isna(row.property_type) else row.property_type,
            )
        )
    return by_postcode


def _choose(frame: pd.DataFrame, certificates: pd.DataFrame, threshold: float) -> dict[str, Match]:
    """The match for each listing_key whose postcode's certificates are known."""
    by_postcode = _candidates(certificates)
    chosen: dict[str, Match] = {}
    for subject in frame.itertuples(index=False):
        candidates = by_postcode.get(subject.lookup_postcode)
        if candidates is None:
            continue
        uprn = _uprn(subject.uprn) if not _missing(subject.uprn) else None
        property_type = None if _missing(subject.property_type) else str(subject.property_type)
        address = None if _missing(subject.address) else str(subject.address)
        chosen[subject.listing_key] = match_certificate(
            address, uprn, property_type, candidates, threshold
        )
    return chosen


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _details_wanted(
    certificates: pd.DataFrame, chosen: Mapping[str, Match], details_for: str
) -> list[tuple[str, str]]:
    """(certificate, postcode) pairs whose full certificate is needed and not yet cached."""
    if details_for not in ("matched", "all"):
        raise ValueError(f"EPC details_for {details_for!r} must be 'matched' or 'all'")
    numbers = {match.certificate_number for match in chosen.values() if match.certificate_number}
    if details_for == "all":
        # `certificates` lists each postcode newest first, so the first row of a dwelling is
        # its latest certificate.
        dwelling = (
            certificates["uprn"]
            .astype("string")
            .fillna(certificates["address_key"].astype("string"))
            .fillna(certificates["certificate_number"])
        )
        latest = certificates.assign(dwelling=dwelling).drop_duplicates(["postcode", "dwelling"])
        numbers |= set(latest["certificate_number"])
    lacking = certificates[certificates["details_fetched_at"].isna()]
    wanted = lacking[lacking["certificate_number"].isin(numbers)]
    return list(zip(wanted["certificate_number"], wanted["postcode"], strict=True))


def _fetch_details(
    client: EpcClient, conn: duckdb.DuckDBPyConnection, wanted: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Fetch and store each wanted certificate; the errors by certificate number."""
    errors: dict[str, str] = {}
    fetched: dict[str, dict[str, Any]] = {}
    for (number, _postcode), outcome in _in_parallel(client, client.certificate, list(wanted)):
        if isinstance(outcome, EpcLookupError):
            errors[number] = str(outcome)
            continue
        fetched[number] = certificate_details(outcome)
        if len(fetched) >= STORE_BATCH:
            epc_cache.store_many_details(conn, fetched, dt.datetime.now())
            fetched = {}
    epc_cache.store_many_details(conn, fetched, dt.datetime.now())
    return errors


def _match_rows(
    frame: pd.DataFrame,
    chosen: Mapping[str, Match],
    certificates: pd.DataFrame,
    errors: Mapping[str, str],
    detail_errors: Mapping[str, str],
) -> list[dict[str, Any]]:
    by_number = {
        (row["postcode"], row["certificate_number"]): row for row in certificates.to_dict("records")
    }
    rows = []
    for subject in frame.itertuples(index=False):
        postcode = subject.lookup_postcode
        match = chosen.get(subject.listing_key)
        if postcode is None:
            rows.append(_unmatched(subject.listing_key))
        elif match is None:
            rows.append(_unmatched(subject.listing_key, errors.get(postcode)))
        elif match.certificate_number is None:
            rows.append(_unmatched(subject.listing_key))
        elif match.certificate_number in detail_errors:
            rows.append(_unmatched(subject.listing_key, detail_errors[match.certificate_number]))
        else:
            cert = by_number[(postcode, match.certificate_number)]
            rows.append(_matched_row(subject.listing_key, match, cert))
    return rows


def _matched_row(listing_key: str, match: Match, cert: Mapping[str, Any]) -> dict[str, Any]:
    def value(column: str) -> Any:
        item = cert[column]
        return None if _missing(item) else item

    lodged = value("lodged_on")
    return {
        "listing_key": listing_key,
        "epc_certificate": match.certificate_number,
        "epc_match_method": match.method,
        "epc_match_confidence": match.confidence,
        "epc_rating": value("epc_rating"),
        "epc_efficiency": _int(value("epc_efficiency")),
        "floor_area_sqm": _float(value("floor_area_sqm")),
        "epc_property_type": value("property_type"),
        "epc_built_form": value("built_form"),
        "construction_age_band": value("construction_age_band"),
        "habitable_rooms": _int(value("habitable_rooms")),
        "epc_lodged_on": pd.Timestamp(lodged).date() if lodged is not None else None,
        "epc_error": None,
    }
