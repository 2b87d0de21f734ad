"""PagedList: one page of search results plus the token for the next page."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["PagedList"]

T = TypeVar("T")


class PagedList(list[T]):
    """A list with ``.token``: pass it as ``page_token`` to get the next page; None on the last page."""

    def __init__(self, items: list[T], token: str | bytes | None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[T]:
        return list(self)
