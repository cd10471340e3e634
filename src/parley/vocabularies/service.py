"""The Amazon Transcribe vocabulary operations, without HTTP: modeled input dicts in, output dicts out.

Custom vocabularies, vocabulary filters and Transcribe Medical custom vocabularies (a namespace of their own,
content from a file only, US English only). Decisions (docs/decisions.md D22–D26, D35): vocabularies are READY
as soon as Create/Update answers; content comes inline (``Phrases``/``Words``) or from ``s3://bucket/key``
resolved under ``<data-dir>/vocabulary-files`` (parley reaches no network); lists are ordered by name with an
opaque ``NextToken``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parley.errors import ServiceError, bad_request
from parley.meetings.service import Caller
from parley.store import Store, VocabularyRecord
from parley.store.sql import Conflict, LimitReached

MAX_PER_ACCOUNT = 100  # reference §4: up to 100 custom vocabularies per account
MAX_BYTES = 50 * 1024  # reference §4: 50 KB per vocabulary
MAX_ENTRY = 256
DEFAULT_PAGE = 5  # Transcribe's documented default MaxResults


def _names(kind: str) -> tuple[str, str]:
    """(noun for messages, name parameter) of a record kind."""
    return {
        "vocabulary": ("vocabulary", "VocabularyName"),
        "medical": ("medical vocabulary", "VocabularyName"),
        "filter": ("vocabulary filter", "VocabularyFilterName"),
    }[kind]


MEDICAL_LANGUAGE = "en-US"  # Transcribe Medical transcribes US English only


class VocabularyService:
    def __init__(self, store: Store, files_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.files_dir = files_dir
        self.clock = clock

    # -- content --------------------------------------------------------------------------------

    def _read_file(self, uri: str) -> str:
        if not uri.startswith("s3://"):
            raise bad_request(
                f"parley doesn't download files: use s3://bucket/key, read from {self.files_dir}/bucket/key "
                "on the server."
            )
        root = self.files_dir.resolve()
        path = (root / uri[len("s3://") :]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise bad_request(f"The file {uri} couldn't be found. Check the URI and try your request again.")
        data = path.read_bytes()
        if len(data) > MAX_BYTES:
            raise bad_request(f"The file {uri} exceeds the {MAX_BYTES}-byte limit.")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise bad_request(f"The file {uri} isn't UTF-8 text.") from None

    @staticmethod
    def _vocabulary_entries(text: str) -> list[dict[str, Any]]:
        """List format (one phrase a line) or table format (tab-separated, header ``Phrase ... DisplayAs``)."""
        lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
        if lines and "\t" in lines[0] and lines[0].split("\t")[0].strip() == "Phrase":
            header = [h.strip() for h in lines[0].split("\t")]
            entries = []
            for line in lines[1:]:
                cells = dict(zip(header, (c.strip() for c in line.split("\t")), strict=False))
                if cells.get("Phrase"):
                    entries.append({"phrase": cells["Phrase"], "display_as": cells.get("DisplayAs") or None})
            return entries
        return [{"phrase": line.strip(), "display_as": None} for line in lines]

    def _content(self, kind: str, params: dict[str, Any]) -> tuple[list[Any], str | None]:
        if kind == "medical" and params.get("LanguageCode", MEDICAL_LANGUAGE) != MEDICAL_LANGUAGE:
            raise bad_request(f"Medical vocabularies support only the language code {MEDICAL_LANGUAGE}.")
        phrases = kind != "filter"  # vocabularies (plain and medical) hold phrases, filters words
        inline_key, file_key = (
            ("Phrases", "VocabularyFileUri") if phrases else ("Words", "VocabularyFilterFileUri")
        )
        inline, uri = params.get(inline_key), params.get(file_key)
        if (inline is None) == (uri is None):  # the model requires the file URI of a medical vocabulary
            raise bad_request(f"Specify either {inline_key} or {file_key}, not both and not neither.")
        if uri is not None:
            text = self._read_file(uri)
            if phrases:
                raw: list[Any] = self._vocabulary_entries(text)
            else:
                raw = [line.strip() for line in text.splitlines() if line.strip()]
        elif phrases:
            raw = [{"phrase": p, "display_as": None} for p in inline]
        else:
            raw = list(inline)
        entries: list[Any] = []
        size = 0
        for entry in raw:
            text = entry["phrase"] if phrases else entry
            if not text.strip() or len(text) > MAX_ENTRY:
                raise bad_request(f"Each entry must have between 1 and {MAX_ENTRY} characters.")
            if kind == "filter" and len(text.split()) != 1:
                raise bad_request(f"The vocabulary filter entry '{text}' isn't a single word.")
            size += len(text.encode())
            if phrases:
                # Transcribe writes multi-word phrases with hyphens ("Los-Angeles"); recognition sees spaces.
                entries.append(
                    {"phrase": " ".join(text.replace("-", " ").split()), "display_as": entry["display_as"]}
                )
            else:
                entries.append(text.strip())
        if size > MAX_BYTES:
            raise bad_request(f"The {_names(kind)[0]} exceeds the {MAX_BYTES}-byte limit.")
        if not entries:
            raise bad_request(f"The {_names(kind)[0]} has no entries.")
        return entries, uri

    @staticmethod
    def _when(record: VocabularyRecord) -> dt.datetime:
        return dt.datetime.fromtimestamp(record.last_modified, tz=dt.UTC)

    def _not_found(self, kind: str) -> ServiceError:
        noun = _names(kind)[0]
        return ServiceError(
            "NotFoundException",
            f"The requested {noun} couldn't be found. Check the {noun} name and try your request again.",
        )

    async def _get(self, kind: str, caller: Caller, name: str) -> VocabularyRecord:
        found = await self.store.get_vocabularies(kind, caller.account_id, [name])
        if not found:
            raise self._not_found(kind)
        return found[0]

    # -- shared operations ----------------------------------------------------------------------

    async def _create(self, kind: str, caller: Caller, params: dict[str, Any]) -> VocabularyRecord:
        noun, name_key = _names(kind)
        entries, uri = self._content(kind, params)
        record = VocabularyRecord(
            kind=kind,
            account_id=caller.account_id,
            name=params[name_key],
            language_code=params["LanguageCode"],
            entries=entries,
            last_modified=self.clock(),
            file_uri=uri,
        )
        try:
            await self.store.create_vocabulary(record, MAX_PER_ACCOUNT)
        except Conflict:
            raise ServiceError(
                "ConflictException", f"The requested {noun} name already exists. Use a different {noun} name."
            ) from None
        except LimitReached:
            raise ServiceError(
                "LimitExceededException", f"You have reached the limit of {MAX_PER_ACCOUNT} {noun}s."
            ) from None
        return record

    async def _update(self, kind: str, caller: Caller, params: dict[str, Any]) -> VocabularyRecord:
        name = params[_names(kind)[1]]
        current = await self._get(kind, caller, name)
        entries, uri = self._content(kind, params)
        record = VocabularyRecord(
            kind=kind,
            account_id=caller.account_id,
            name=name,
            language_code=params.get("LanguageCode") or current.language_code,
            entries=entries,
            last_modified=self.clock(),
            file_uri=uri,
        )
        if not await self.store.update_vocabulary(record):
            raise self._not_found(kind)
        return record

    async def _delete(self, kind: str, caller: Caller, name: str) -> None:
        if not await self.store.delete_vocabulary(kind, caller.account_id, name):
            raise self._not_found(kind)

    async def _list(
        self, kind: str, caller: Caller, params: dict[str, Any]
    ) -> tuple[list[VocabularyRecord], str | None]:
        limit = params.get("MaxResults") or DEFAULT_PAGE
        after = None
        token = params.get("NextToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise bad_request("The NextToken is not valid.") from None
        records = await self.store.list_vocabularies(
            kind,
            caller.account_id,
            after=after,
            limit=limit + 1,
            name_contains=params.get("NameContains"),
            state=params.get("StateEquals"),
        )
        more = len(records) > limit
        records = records[:limit]
        next_token = base64.urlsafe_b64encode(records[-1].name.encode()).decode() if more else None
        return records, next_token

    # -- vocabularies ---------------------------------------------------------------------------

    def _vocabulary_out(self, record: VocabularyRecord) -> dict[str, Any]:
        return {
            "VocabularyName": record.name,
            "LanguageCode": record.language_code,
            "VocabularyState": record.state,
            "LastModifiedTime": self._when(record),
        }

    async def create_vocabulary(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return self._vocabulary_out(await self._create("vocabulary", caller, params))

    async def get_vocabulary(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = await self._get("vocabulary", caller, params["VocabularyName"])
        out = self._vocabulary_out(record)
        if record.file_uri:
            out["DownloadUri"] = record.file_uri
        return out

    async def _vocabulary_page(self, kind: str, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        records, token = await self._list(kind, caller, params)
        out: dict[str, Any] = {"Vocabularies": [self._vocabulary_out(r) for r in records]}
        if params.get("StateEquals"):
            out["Status"] = params["StateEquals"]
        if token:
            out["NextToken"] = token
        return out

    async def list_vocabularies(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return await self._vocabulary_page("vocabulary", caller, params)

    async def update_vocabulary(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return self._vocabulary_out(await self._update("vocabulary", caller, params))

    async def delete_vocabulary(self, caller: Caller, params: dict[str, Any]) -> None:
        await self._delete("vocabulary", caller, params["VocabularyName"])

    # -- medical vocabularies -------------------------------------------------------------------

    async def create_medical_vocabulary(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return self._vocabulary_out(await self._create("medical", caller, params))

    async def get_medical_vocabulary(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = await self._get("medical", caller, params["VocabularyName"])
        return {**self._vocabulary_out(record), "DownloadUri": record.file_uri}

    async def list_medical_vocabularies(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return await self._vocabulary_page("medical", caller, params)

    async def update_medical_vocabulary(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return self._vocabulary_out(await self._update("medical", caller, params))

    async def delete_medical_vocabulary(self, caller: Caller, params: dict[str, Any]) -> None:
        await self._delete("medical", caller, params["VocabularyName"])

    # -- vocabulary filters ---------------------------------------------------------------------

    def _filter_out(self, record: VocabularyRecord) -> dict[str, Any]:
        return {
            "VocabularyFilterName": record.name,
            "LanguageCode": record.language_code,
            "LastModifiedTime": self._when(record),
        }

    async def create_vocabulary_filter(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return self._filter_out(await self._create("filter", caller, params))

    async def get_vocabulary_filter(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        record = await self._get("filter", caller, params["VocabularyFilterName"])
        out = self._filter_out(record)
        if record.file_uri:
            out["DownloadUri"] = record.file_uri
        return out

    async def list_vocabulary_filters(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        records, token = await self._list("filter", caller, params)
        out: dict[str, Any] = {"VocabularyFilters": [self._filter_out(r) for r in records]}
        if token:
            out["NextToken"] = token
        return out

    async def update_vocabulary_filter(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return self._filter_out(await self._update("filter", caller, params))

    async def delete_vocabulary_filter(self, caller: Caller, params: dict[str, Any]) -> None:
        await self._delete("filter", caller, params["VocabularyFilterName"])

    def handlers(self) -> dict[str, Callable[[Caller, dict[str, Any]], Any]]:
        """Operation name → method; the JSON endpoint dispatches on ``X-Amz-Target``."""
        return {
            "CreateVocabulary": self.create_vocabulary,
            "GetVocabulary": self.get_vocabulary,
            "ListVocabularies": self.list_vocabularies,
            "UpdateVocabulary": self.update_vocabulary,
            "DeleteVocabulary": self.delete_vocabulary,
            "CreateMedicalVocabulary": self.create_medical_vocabulary,
            "GetMedicalVocabulary": self.get_medical_vocabulary,
            "ListMedicalVocabularies": self.list_medical_vocabularies,
            "UpdateMedicalVocabulary": self.update_medical_vocabulary,
            "DeleteMedicalVocabulary": self.delete_medical_vocabulary,
            "CreateVocabularyFilter": self.create_vocabulary_filter,
            "GetVocabularyFilter": self.get_vocabulary_filter,
            "ListVocabularyFilters": self.list_vocabulary_filters,
            "UpdateVocabularyFilter": self.update_vocabulary_filter,
            "DeleteVocabularyFilter": self.delete_vocabulary_filter,
        }
