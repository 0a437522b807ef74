"""decoder.model.quick_init: the quicker __init__ of frozen slotted dataclasses sets what the dataclass's
own __init__ sets, takes the same arguments, and refuses the classes it cannot serve."""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from dataclasses import InitVar, dataclass, field

import pytest

import dissectors
from decoder.model import Direction, quick_init


def _served() -> list[type]:
    """Every class of the model and the dissectors that quick_init gave its __init__."""
    out = []
    for name in ["decoder.model"] + [f"dissectors.{m.name}" for m in pkgutil.iter_modules(dissectors.__path__)]:
        mod = importlib.import_module(name)
        for obj in vars(mod).values():
            if (isinstance(obj, type) and obj.__module__ == mod.__name__ and dataclasses.is_dataclass(obj)
                    and hasattr(obj.__init__, "__wrapped__")):
                out.append(obj)
    return out


def _sample(f: dataclasses.Field, i: int) -> object:
    return Direction.RESP if f.name == "direction" else f"v{i}"


@pytest.mark.parametrize("cls", _served(), ids=lambda c: c.__name__)
def test_same_fields_as_the_dataclass_init(cls: type) -> None:
    fs = dataclasses.fields(cls)
    required = [f for f in fs if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    own = cls.__init__.__wrapped__
    assert [p.name for p in list(inspect.signature(own).parameters.values())[1:]] == [f.name for f in fs]
    # only the required fields (defaults and factories filled in), then every field by keyword
    for kwargs in ({f.name: _sample(f, i) for i, f in enumerate(required)},
                   {f.name: _sample(f, i) for i, f in enumerate(fs)}):
        quick = cls(**kwargs)
        ref = object.__new__(cls)
        own(ref, **kwargs)
        assert [getattr(quick, f.name) for f in fs] == [getattr(ref, f.name) for f in fs]
        assert quick == ref and repr(quick) == repr(ref)
        assert pickle.loads(pickle.dumps(quick)) == quick
    args = [_sample(f, i) for i, f in enumerate(fs)]
    assert cls(*args) == cls(**{f.name: a for f, a in zip(fs, args)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cls(*args), fs[0].name, 1)
    # a default factory runs per instance
    for f in fs:
        if f.default_factory is not dataclasses.MISSING:
            a, b = cls(**{g.name: _sample(g, i) for i, g in enumerate(required)}), \
                cls(**{g.name: _sample(g, i) for i, g in enumerate(required)})
            assert getattr(a, f.name) == f.default_factory() and getattr(a, f.name) is not getattr(b, f.name)


def test_the_items_made_most_use_it() -> None:
    names = {c.__name__ for c in _served()}
    assert {"DnsMessage", "DnsTransaction", "SnmpPdu", "SnmpPduRecord", "Varbind", "TftpRecord",
            "Anomaly", "FileData", "FileOpen", "Confirm"} <= names


def test_refuses_what_it_does_not_reproduce() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: InitVar[int] = 0

    @dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int
        b: int = field(default=0, init=False)

    @dataclass(frozen=True, slots=True)
    class KwOnly:
        a: int
        b: int = field(default=0, kw_only=True)

    for cls in (NoSlots, NotFrozen, PostInit, WithInitVar, NotInInit, KwOnly, int):
        with pytest.raises(TypeError):
            quick_init(cls)
