"""@frozen and @mutable behave as @dataclass(frozen=True, slots=True) and @dataclass(slots=True):
each class is built both ways and the two are held side by side, every test once with the
first instances' bound __init__ and once with the compiled one."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

import pytest

from fetchcli import slots
from fetchcli.models import Target
from fetchcli.slots import frozen, mutable


@pytest.fixture(autouse=True, params=["bound", "compiled"])
def init_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(slots, "COMPILE_AT", 1 if request.param == "compiled" else 10**9)
    return str(request.param)


def _frozen_pair() -> tuple[type[Any], type[Any]]:
    def body() -> dict[str, Any]:
        return {
            "__annotations__": {
                "url": "str",
                "line": "int | None",
                "tags": "list[str]",
                "hidden": "str",
                "derived": "int",
            },
            "__doc__": "A frozen one.",
            "line": None,
            "tags": field(default_factory=list),
            "hidden": field(default="h", repr=False, compare=False),
            "derived": field(init=False, default=0),
            "__post_init__": lambda self: object.__setattr__(self, "derived", len(self.url)),
            "__module__": __name__,
        }

    theirs = dataclass(frozen=True, slots=True)(type("Frozen", (), body()))
    ours = frozen(type("Frozen", (), body()))
    return theirs, ours


def _mutable_pair() -> tuple[type[Any], type[Any]]:
    def body() -> dict[str, Any]:
        return {
            "__annotations__": {"count": "int", "seen": "dict[str, int]"},
            "__doc__": "A mutable one.",
            "count": 0,
            "seen": field(default_factory=dict),
            "__module__": __name__,
        }

    return dataclass(slots=True)(type("Mutable", (), body())), mutable(type("Mutable", (), body()))


@pytest.mark.parametrize(
    "arguments", [(("a",), {}), (("a", 3), {"tags": ["x"]}), ((), {"url": "b"})]
)
def test_a_record_is_made_and_shown_as_a_frozen_dataclass(arguments) -> None:
    args, kwargs = arguments
    theirs, ours = _frozen_pair()
    one, other = theirs(*args, **kwargs), ours(*args, **kwargs)
    assert repr(one) == repr(other)
    assert dataclasses.astuple(one) == dataclasses.astuple(other)
    assert other.derived == len(other.url)  # __post_init__ ran
    assert [f.name for f in dataclasses.fields(ours)] == [
        f.name for f in dataclasses.fields(theirs)
    ]
    assert [(f.name, f.type) for f in dataclasses.fields(ours)] == [
        (f.name, f.type) for f in dataclasses.fields(theirs)
    ]
    assert ours.__annotations__ == theirs.__annotations__
    assert ours.__match_args__ == theirs.__match_args__ == ("url", "line", "tags", "hidden")
    assert ours.__slots__ == theirs.__slots__
    assert not hasattr(other, "__dict__")


def test_defaults_and_factories_are_the_dataclass_ones() -> None:
    theirs, ours = _frozen_pair()
    assert ours("a").tags == [] and ours("a").tags is not ours("a").tags
    assert ours("a").hidden == "h" and ours("a").line is None
    with pytest.raises(TypeError):
        ours()
    with pytest.raises(TypeError):
        ours("a", derived=1)  # init=False
    assert theirs("a").tags == []


def test_equality_and_hash_follow_the_compared_fields() -> None:
    theirs, ours = _frozen_pair()
    assert ours("a", 1) == ours("a", 1, hidden="other")  # hidden: compare=False
    assert ours("a", 1) != ours("a", 2)
    assert hash(ours("a", 1, ("t",))) == hash(ours("a", 1, ("t",), hidden="x"))
    assert ours("a") != theirs("a")  # another class is never equal, as dataclass says
    assert {ours("a", 1, ()), ours("a", 1, ())} == {ours("a", 1, ())}


def test_a_record_refuses_assignment() -> None:
    _, ours = _frozen_pair()
    item = ours("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.url = "b"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del item.url
    assert dataclasses.replace(item, url="bc") == ours("bc")
    assert dataclasses.replace(item, url="bc").derived == 2


def test_a_record_pickles_and_copies() -> None:
    item = Target("https://a.test/", "arg", 3)
    assert pickle.loads(pickle.dumps(item)) == item
    assert copy.copy(item) == item and copy.deepcopy(item) == item


def test_a_holder_is_a_mutable_dataclass() -> None:
    theirs, ours = _mutable_pair()
    item = ours()
    item.count += 2
    item.seen["x"] = 1
    assert repr(item) == repr(theirs(2, {"x": 1}))
    assert item == ours(2, {"x": 1})
    assert ours.__hash__ is None and theirs.__hash__ is None
    assert ours().seen is not ours().seen


def test_a_holder_without_eq_is_compared_by_identity() -> None:
    @mutable(eq=False)
    class Counted:
        """By identity."""

        count: int = 0

    one = Counted()
    assert one != Counted() and one == one
    assert {one, Counted()} and hash(one) == object.__hash__(one)


def test_a_subclass_gets_its_own_init() -> None:
    @frozen
    class Base:
        """A base."""

        a: int

    @frozen
    class Derived(Base):
        """A derived one."""

        b: int = 2

    assert Derived(1) == Derived(1, 2) and Derived(1).b == 2 and Derived(b=3, a=1).b == 3
    assert Base(5).a == 5
    with pytest.raises(TypeError):
        Base(5, 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda cls: cls(),  # a required one missing
        lambda cls: cls("a", 1, [], "h", 9),  # too many
        lambda cls: cls("a", url="b"),  # twice
        lambda cls: cls("a", nothing=1),  # no such field
        lambda cls: cls("a", derived=1),  # init=False
    ],
)
def test_a_wrong_call_is_refused_as_dataclass_refuses_it(call: Any) -> None:
    theirs, ours = _frozen_pair()
    with pytest.raises(TypeError):
        call(theirs)
    with pytest.raises(TypeError):
        call(ours)


def test_the_init_is_compiled_at_the_compile_at_th_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slots, "COMPILE_AT", 3)

    @frozen
    class Later:
        """Made later."""

        a: int

    before = Later.__init__
    assert Later(1).a == 1 and Later(2).a == 2
    assert Later.__init__ is before
    assert Later(3).a == 3
    assert Later.__init__ is not before and Later(4).a == 4
    assert list(inspect.signature(Later.__init__).parameters) == ["self", "a"]


def test_class_variables_and_keyword_only_markers_are_read_as_dataclass_reads_them() -> None:
    @frozen
    class Marked:
        """Annotations dataclass itself gives meaning to."""

        a: int
        kinds: ClassVar[tuple[str, ...]] = ("x",)
        _: KW_ONLY
        b: int = 2

    assert [f.name for f in dataclasses.fields(Marked)] == ["a", "b"]
    assert Marked(1, b=3).b == 3 and Marked.kinds == ("x",)
    with pytest.raises(TypeError):
        Marked(1, 3)  # b is keyword-only
