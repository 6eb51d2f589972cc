"""One registry per extension point: a dict plus a decorator that refuses duplicates."""

from collections.abc import Callable, Iterator
from difflib import get_close_matches
from typing import Any, Generic, TypeVar

from pydantic import AfterValidator

from tasks.errors import InfopipeError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to implementations (engines, compressors, samplers, estimators, benchmarks)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            close = get_close_matches(name, self._items, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self._items))
            raise InfopipeError(self.kind, f"unknown {self.kind} {name!r} (known: {known}){hint}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def checked(self) -> Any:
        """A config field's validator: the name must be registered (`Annotated[str, R.checked()]`).
        Registries fill as their package imports its members, before any config is validated."""

        def known(name: str) -> str:
            try:
                self.get(name)
            except InfopipeError as err:
                raise ValueError(err.problem) from None
            return name

        return AfterValidator(known)
