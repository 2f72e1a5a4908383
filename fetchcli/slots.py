"""`@frozen` and `@mutable`: `@dataclass(frozen=True, slots=True)` and `@dataclass(slots=True)`,
made for a sixth of the start-up.

Python 3.11's `dataclass` writes each method it adds as source text and compiles it: six
compilations for a frozen class (__init__, __repr__, __eq__, __hash__, __setattr__,
__delattr__), about 0.5 ms a class. fetchcli has 45 of them; a one-off run made 41, a fifth of
fetchcli's own start-up, and `--help` 15. Here `dataclass` still builds the class (its fields,
its slots, `__match_args__`: `dataclasses.fields` and `replace` work on it as on any), but adds
no method. The methods are shared ones, written once, that read each class's fields; a class's
first instances are made by a shared `__init__` too, and its own is compiled at the
COMPILE_AT-th (most classes of a run are made once or never; Target, Result and the like,
thousands of times). And as dataclass reads each string annotation three times to learn
whether it is a ClassVar, it is given stand-ins when none can be.

What each class does is what `dataclass` gives it, and tests/unit/test_slots.py holds the two
side by side: the same arguments, defaults, factories, `init=False` fields and `__post_init__`;
the same repr, equality and hash; FrozenInstanceError on assignment; pickle and copy. A
record's `__init__` sets each slot through its descriptor, not through `object.__setattr__`,
which also makes a Result 40 % cheaper to build.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")
_FACTORY = object()  # in __init__'s signature: the field's default_factory is to be called
COMPILE_AT = 8  # the instance of a class at which its own __init__ is compiled
_made_so_far: dict[type, int] = {}  # instances of each class whose __init__ is not compiled
_plans: dict[type, _Plan] = {}  # how those are made, and then how its own is written
_SPECIAL = re.compile("ClassVar|InitVar|KW_ONLY")  # annotations dataclass must read itself


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[_T]) -> type[_T]:
    """`@dataclass(frozen=True, slots=True)`: a value that never changes once made."""
    return _made(cls, frozen=True, eq=True)


@overload
def mutable(cls: type[_T], /) -> type[_T]: ...
@overload
def mutable(*, eq: bool = True) -> Callable[[type[_T]], type[_T]]: ...
@dataclass_transform(field_specifiers=(dataclasses.field,))
def mutable(cls: type[_T] | None = None, /, *, eq: bool = True) -> Any:
    """`@dataclass(slots=True)` (`eq=False`: compared and hashed by identity): mutable state."""
    if cls is None:
        return lambda later: _made(later, frozen=False, eq=eq)
    return _made(cls, frozen=False, eq=eq)


def _made(cls: type[_T], *, frozen: bool, eq: bool) -> type[_T]:
    own = dict(cls.__dict__)  # what the class defines itself, which dataclass never replaces
    written = own.get("__annotations__", {})
    # dataclass reads a string annotation three times over (is it ClassVar, InitVar, KW_ONLY?)
    # with a regex and module lookups: two fifths of its time per class. When none can be, it is
    # handed stand-ins, and each field gets its annotation back.
    plain = all(isinstance(text, str) and not _SPECIAL.search(text) for text in written.values())
    if plain:
        cls.__annotations__ = dict.fromkeys(written, object)
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=True)
    fields = dataclasses.fields(made)
    if plain:
        made.__annotations__ = written
        for field in fields:
            field.type = written.get(field.name, field.type)  # a base's fields have theirs
    made.__init__ = _first_init
    if "__repr__" not in own:
        made.__repr__ = _repr
    made.__record_shown__ = tuple(field.name for field in fields if field.repr)
    if eq:
        compared = [field.name for field in fields if field.compare]
        made.__record_key__ = _key_of(compared)
        if "__eq__" not in own:
            made.__eq__ = _eq
        # As dataclass: hashable when frozen, else not at all, unless the class says itself
        # (a class that defines __eq__ alone has a __hash__ of None, which is no saying).
        explicit = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
        if not explicit:
            hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
            made.__record_hashed__ = _key_of(hashed)
            made.__hash__ = _hash if frozen else None
    if frozen:
        made.__setattr__ = _refuse_set
        made.__delattr__ = _refuse_delete
        made.__getstate__ = _getstate
        made.__setstate__ = _setstate
    return made  # type: ignore[no-any-return]


def _key_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda _: ()
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda item: (one(item),)
    return operator.attrgetter(*names)


def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """A class's first instances are bound to its fields as a call would bind them; at the
    COMPILE_AT-th, its own __init__ is compiled and put in place (most classes of a run make
    one or two instances, and compiling is 0.3 ms a class: 25 of them were a fortieth of a
    one-off fetch)."""
    cls = type(self)
    owner = next(c for c in cls.__mro__ if c.__dict__.get("__init__") is _first_init)
    plan = _plans.get(owner) or _plans.setdefault(owner, _plan(owner))
    made = _made_so_far[owner] = _made_so_far.get(owner, 0) + 1
    if made >= COMPILE_AT:
        init = _compiled_init(owner, plan)
        owner.__init__ = init  # type: ignore[misc]
        _made_so_far.pop(owner, None)
        _plans.pop(owner, None)
        init(self, *args, **kwargs)
        return
    given = _bound(plan, args, kwargs)
    for name, setter, default, factory in plan.steps:
        if name in given:
            setter(self, given[name])
        elif factory is not dataclasses.MISSING:
            setter(self, factory())
        elif default is not dataclasses.MISSING:
            setter(self, default)
    if plan.post_init:
        self.__post_init__()


class _Plan(NamedTuple):
    """How a class's first instances are made: its __init__'s positional and keyword
    parameters and the ones it cannot do without, then each field's name, slot setter, default
    and default_factory (MISSING: none), in order, and whether __post_init__ follows."""

    call: str  # "Name.__init__()", as a call's TypeError names it
    positional: tuple[str, ...]
    parameters: frozenset[str]
    required: tuple[str, ...]
    steps: tuple[tuple[str, Callable[[Any, Any], None], Any, Any], ...]
    post_init: bool


def _plan(cls: type) -> _Plan:
    positional, parameters, required, steps = [], [], [], []
    for field in dataclasses.fields(cls):
        slot = next(c.__dict__[field.name] for c in cls.__mro__ if field.name in c.__dict__)
        steps.append((field.name, slot.__set__, field.default, field.default_factory))
        if not field.init:
            continue
        parameters.append(field.name)
        if not field.kw_only:
            positional.append(field.name)
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    call = f"{cls.__qualname__}.__init__()"
    post_init = hasattr(cls, "__post_init__")
    return _Plan(
        call, tuple(positional), frozenset(parameters), tuple(required), tuple(steps), post_init
    )


def _bound(plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments by field name, refused with a call's TypeError where a call would be."""
    if len(args) > len(plan.positional):
        raise TypeError(
            f"{plan.call} takes {len(plan.positional) + 1} positional arguments but "
            f"{len(args) + 1} were given"
        )
    given = dict(zip(plan.positional, args, strict=False))  # fewer args than positionals: fine
    for name, value in kwargs.items():
        if name not in plan.parameters:
            raise TypeError(f"{plan.call} got an unexpected keyword argument {name!r}")
        if name in given:
            raise TypeError(f"{plan.call} got multiple values for argument {name!r}")
        given[name] = value
    missing = [name for name in plan.required if name not in given]
    if missing:
        raise TypeError(f"{plan.call} missing required arguments: {', '.join(missing)}")
    return given


def _compiled_init(cls: type, plan: _Plan) -> Callable[..., None]:
    """__init__ as dataclass writes it from the class's plan, each slot set by its own
    descriptor (frozen or not)."""
    space: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for name, setter, default, factory in plan.steps:
        space[f"_set_{name}"] = setter
        has_factory = factory is not dataclasses.MISSING
        if has_factory:
            space[f"_make_{name}"] = factory
        if default is not dataclasses.MISSING:
            space[f"_default_{name}"] = default
        if name not in plan.parameters:  # init=False
            if has_factory:
                body.append(f"    _set_{name}(self, _make_{name}())")
            elif default is not dataclasses.MISSING:
                body.append(f"    _set_{name}(self, _default_{name})")
            continue
        if has_factory:
            parameter = f"{name}=_FACTORY"
            body.append(f"    _set_{name}(self, _make_{name}() if {name} is _FACTORY else {name})")
        else:
            parameter = f"{name}=_default_{name}" if default is not dataclasses.MISSING else name
            body.append(f"    _set_{name}(self, {name})")
        (positional if name in plan.positional else keyword).append(parameter)
    if plan.post_init:
        body.append("    self.__post_init__()")
    parameters = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({parameters}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, space)  # noqa: S102 - our own text, from the class's field names
    init: Callable[..., None] = space["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:  # a bool, or NotImplemented
    if other.__class__ is self.__class__:
        key = self.__record_key__
        return key(self) == key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__record_hashed__(self))


def _refuse_set(self: Any, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, field.name) for field in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for field, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, field.name, value)
