"""Every exercise checker, fed generated wrong answers, returns feedback: never raises nor passes.

The checkers are found by name (``check_*`` in each chapter module of
:mod:`coursepkg.exercises`), so a new one is fuzzed without editing this file. Its
right answer is the chapter module's ``reference_<name>``; some wrong answers are
built from it (NaN or shifted results of the right shape, complex results,
functions that change their input in place), the others (values, raising or
printing functions, odd objects) are not.
"""

import copy
import importlib
import itertools
import math
import pkgutil

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import coursepkg.exercises
from coursepkg.exercises.framework import Feedback

MAX_MESSAGE = 600  # characters: one line of feedback, hint included


def _discover():
    """Return ``{"module.check_name": (module, checker)}`` for every chapter's checkers."""
    checkers = {}
    for info in pkgutil.iter_modules(coursepkg.exercises.__path__):
        if info.name == "framework":
            continue
        module = importlib.import_module(f"{coursepkg.exercises.__name__}.{info.name}")
        for name, function in vars(module).items():
            if name.startswith("check_") and getattr(function, "__module__", "") == module.__name__:
                checkers[f"{info.name}.{name}"] = (module, function)
    return checkers


CHECKERS = _discover()


def _right_answer(key):
    """The chapter module's ``reference_<name>`` of the checker ``check_<name>``."""
    module, checker = CHECKERS[key]
    return getattr(module, "reference_" + checker.__name__.removeprefix("check_"), None)


# --- wrong values -----------------------------------------------------------------------

TENSOR_DTYPES = [
    torch.float64,
    torch.float32,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
    torch.complex64,
    torch.complex128,
]


def _tensor(shape, dtype, fill, variant):
    """A tensor of any shape and dtype, filled or not; with gradients, meta, sparse or strided."""
    base = {
        "randn": lambda: torch.randn(shape, dtype=torch.float64),
        "nan": lambda: torch.full(shape, math.nan, dtype=torch.float64),
        "inf": lambda: torch.full(shape, -math.inf, dtype=torch.float64),
        "zeros": lambda: torch.zeros(shape, dtype=torch.float64),
    }[fill]()
    tensor = base.to(dtype) if fill != "nan" or dtype.is_floating_point else base
    if variant == "grad" and tensor.is_floating_point():
        return tensor.requires_grad_()
    if variant == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    if variant == "sparse" and tensor.dim() > 0:
        return tensor.to_sparse()
    if variant == "strided" and tensor.dim() > 1:
        return tensor.transpose(0, -1)
    return tensor


class _TorchFunctionRaises(torch.Tensor):
    """A tensor on which every torch operation raises."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError("no torch operation works on this tensor")


def _weird(base, dunders, error):
    """An instance of ``base`` whose listed special methods raise ``error``."""

    def fail(*args, **kwargs):
        raise error("this special method raises")

    cls = type(f"Weird{base.__name__.title()}", (base,), dict.fromkeys(dunders, fail))
    return cls((1.0, 2.0)) if base in (tuple, list) else cls(1) if base is not object else cls()


RAISING_DUNDERS = [
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__bool__",
    "__len__",
    "__iter__",
    "__getitem__",
    "__float__",
    "__int__",
    "__index__",
    "__complex__",
    "__array__",
    "__repr__",
    "__format__",
    "__getattr__",
    "__abs__",
    "__sub__",
    "__rsub__",
]

shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)
tensors = st.builds(
    _tensor,
    shapes,
    st.sampled_from(TENSOR_DTYPES),
    st.sampled_from(["randn", "nan", "inf", "zeros"]),
    st.sampled_from(["plain", "plain", "grad", "meta", "sparse", "strided"]),
)
arrays = hnp.arrays(
    st.sampled_from([np.float64, np.float32, np.int64, np.complex128, np.bool_, np.str_]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)
weird_objects = st.one_of(
    st.builds(
        _weird,
        st.sampled_from([object, float, int, tuple, list]),
        st.lists(st.sampled_from(RAISING_DUNDERS), min_size=1, max_size=6, unique=True),
        st.sampled_from([RuntimeError, ValueError, TypeError, ZeroDivisionError]),
    ),
    st.builds(lambda n: torch.zeros(n).as_subclass(_TorchFunctionRaises), st.integers(0, 3)),
    st.builds(lambda n: (i for i in range(n)), st.integers(0, 3)),
    st.builds(itertools.count),
    st.builds(lambda: iter([])),
    st.just(Ellipsis),
    st.just(NotImplemented),
    st.builds(object),
    st.builds(lambda: torch.nn.Linear(2, 2)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(10**400),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
    st.complex_numbers(),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.sampled_from([np.float64(math.nan), np.complex128(1 + 1j), np.int64(-1), np.bool_(True)]),
)
values = st.recursive(
    st.one_of(scalars, tensors, arrays, weird_objects),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner),
        st.tuples(inner, inner),
        st.tuples(inner, inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
    ),
    max_leaves=6,
)


# --- wrong functions --------------------------------------------------------------------


class Student:
    """A generated wrong answer to an exercise: a function with a readable repr."""

    def __init__(self, description, body):
        self.description, self.body = description, body

    def __call__(self, *args):
        return self.body(*args)

    def __repr__(self):
        return f"Student({self.description})"


class _UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("this message cannot be shown")


class _NonStringError(Exception):
    def __str__(self):
        return 42


ERRORS = [
    ValueError,
    ZeroDivisionError,
    RuntimeError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    StopIteration,
    RecursionError,
    MemoryError,
    OSError,
    NotImplementedError,
    Exception,
    _UnprintableError,
    _NonStringError,
]
MESSAGES = st.one_of(
    st.text(max_size=30),
    st.just("line one\nline two\n\nline four"),
    st.just("x" * 5_000),
    st.just("\u2028\x1c\r"),
)


def _raises(error, message):
    def body(*args):
        raise error(message)

    return Student(f"raises {error.__name__}({message[:20]!r})", body)


def _recurses():
    def body(*args):
        return body(*args)

    return Student("recurses forever", body)


def _prints_a_lot(value):
    def body(*args):
        for line in range(300):
            print(f"line {line}: " + "debugging output " * 10)
        return value

    return Student("prints a lot", body)


def _perturb(value, kind, index):
    """Make ``value`` (a right answer) wrong, keeping its shape where ``kind`` allows."""
    if isinstance(value, (tuple, list)):
        if kind == "shape":
            return (*value, *value[:1]) if index % 2 else tuple(value[:-1])
        items = list(value)
        i = index % len(items)
        items[i] = _perturb(items[i], kind, index)
        return type(value)(items)
    if isinstance(value, torch.Tensor):
        v = value.detach()
        real = v if v.is_floating_point() else v.double()
        return {
            "nan": lambda: torch.full_like(real, math.nan),
            "offset": lambda: real + 0.5 + 0.25 * real.abs(),
            "complex": lambda: v.to(torch.complex128) + 1j,
            "numpy complex": lambda: v.double().numpy() + 1j,
            "shape": lambda: v[None] if index % 2 else torch.cat([v.flatten(), v.flatten()]),
            "string": lambda: str(v.tolist()),
        }[kind]()
    return {
        "nan": lambda: math.nan,
        "offset": lambda: value + 1 if isinstance(value, int) else value + 0.5 + 0.25 * abs(value),
        "complex": lambda: complex(value, 1.0),
        "numpy complex": lambda: np.complex128(value + 1j),
        "shape": lambda: [value, value],
        "string": lambda: str(value),
    }[kind]()


def _perturbed(right, kind, index):
    def body(*args):
        return _perturb(right(*copy.deepcopy(args)), kind, index)

    return Student(f"right answer made wrong: {kind} (index {index})", body)


def _same(a, b):
    """Whether ``b`` still equals ``a``, a deep copy taken before the call."""
    if isinstance(a, torch.Tensor):
        return (
            isinstance(b, torch.Tensor)
            and (a.dtype, a.shape) == (b.dtype, b.shape)
            and torch.equal(a, b)
        )
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _mutate(argument, mutation):
    """Change a tensor or list argument in place (some mutations may leave it as it was)."""
    if isinstance(argument, torch.Tensor):
        {
            "add_": lambda t: t.add_(1),
            "mul_": lambda t: t.mul_(2),
            "zero_": lambda t: t.zero_(),
            "fill nan": lambda t: t.fill_(math.nan),
            "unsqueeze_": lambda t: t.unsqueeze_(0),
            "t_": lambda t: t.t_() if t.dim() <= 2 else t.transpose_(0, 1),
            "resize_": lambda t: t.resize_(1),
            "dtype": lambda t: setattr(t, "data", t.data.float()),
        }[mutation[0]](argument)
    elif isinstance(argument, list) and argument:
        {
            "append": lambda a: a.append(0.5),
            "reverse": lambda a: a.reverse(),
            "sort": lambda a: a.sort(),
            "clear": lambda a: a.clear(),
            "setitem": lambda a: a.__setitem__(0, 123.0),
            "pop": lambda a: a.pop(),
        }[mutation[1]](argument)


def _mutates(right, mutation, returns):
    """Change the arguments in place, then return a right answer (when they changed)."""

    def body(*args):
        before = copy.deepcopy(args)
        answer = right(*copy.deepcopy(args))
        for argument in args:
            _mutate(argument, mutation)
        if _same(before, args) or returns == "wrong":
            return _perturb(answer, "offset", 0)  # nothing changed: the answer must be wrong
        return answer if returns == "before" else right(*args)

    return Student(f"mutates its input: {mutation}, returns {returns}", body)


BUILTINS = [int, float, str, tuple, list, len, print, abs, sum, max, min, sorted, repr, id]
BUILTINS += [torch.zeros, torch.randn, torch.sum, torch.abs, torch.sign, math.log, math.sqrt]


KINDS = ["nan", "offset", "complex", "numpy complex", "shape", "string"]
TENSOR_MUTATIONS = ["add_", "mul_", "zero_", "fill nan", "unsqueeze_", "t_", "resize_", "dtype"]
LIST_MUTATIONS = ["append", "reverse", "sort", "clear", "setitem", "pop"]

# The kinds of wrong answers: (examples per checker, strategy given the right answer).
CATEGORIES = {
    "value": (15, lambda right: values),
    "function": (
        25,
        lambda right: st.one_of(
            st.builds(_raises, st.sampled_from(ERRORS), MESSAGES),
            st.builds(lambda v: Student(f"returns {type(v).__name__}", lambda *args: v), values),
            st.just(Student("returns its first argument", lambda *args: args[0])),
            st.just(Student("returns its arguments", lambda *args: args)),
            st.just(Student("takes no argument", lambda: 0.1)),
            st.builds(_prints_a_lot, values),
            st.builds(_recurses),
            st.sampled_from(BUILTINS),
        ),
    ),
    "wrong result": (
        2 * len(KINDS),
        lambda right: st.builds(
            _perturbed, st.just(right), st.sampled_from(KINDS), st.integers(0, 1)
        ),
    ),
    "changed input": (
        20,
        lambda right: st.builds(
            _mutates,
            st.just(right),
            st.tuples(st.sampled_from(TENSOR_MUTATIONS), st.sampled_from(LIST_MUTATIONS)),
            st.sampled_from(["before", "after", "wrong"]),
        ),
    ),
}


# --- the tests --------------------------------------------------------------------------


def _assert_one_line(feedback):
    assert isinstance(feedback, Feedback)
    assert isinstance(feedback.exercise, str)
    assert feedback.exercise
    assert isinstance(feedback.message, str)
    assert feedback.message.strip()
    assert len(feedback.message.splitlines()) == 1, feedback.message
    assert len(feedback.message) <= MAX_MESSAGE, feedback.message
    assert str(feedback)


def test_every_chapter_has_its_checkers_discovered():
    assert len(CHECKERS) >= 17
    chapters = {key.split(".")[0] for key in CHECKERS}
    expected = {"overfitting", "penalties", "dropout", "batchnorm", "initialization"}
    assert chapters >= expected | {"schedules", "resnet"}


@pytest.mark.parametrize("key", sorted(CHECKERS))
def test_the_right_answer_passes(key):
    right = _right_answer(key)
    assert right is not None, f"give {key} its reference_* function"
    torch.manual_seed(0)
    feedback = CHECKERS[key][1](right)
    assert feedback.status == "passed", feedback.message
    _assert_one_line(feedback)


@pytest.mark.parametrize(
    ("key", "category"),
    [(key, category) for key in sorted(CHECKERS) for category in CATEGORIES],
)
def test_wrong_answers_get_feedback_and_never_pass(key, category, record_property):
    check, tried = CHECKERS[key][1], []
    examples, strategy = CATEGORIES[category]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(answer=strategy(_right_answer(key)))
    def fuzz(answer):
        tried.append(answer)
        feedback = check(answer)
        assert feedback.status != "passed", f"{answer!r} passed"
        _assert_one_line(feedback)

    torch.manual_seed(0)
    fuzz()
    record_property("wrong_answers", len(tried))
    assert len(tried) >= examples
    if category == "wrong result":  # a small space: every kind of wrong result was tried
        assert all(any(f": {kind} (" in repr(a) for a in tried) for kind in KINDS)
