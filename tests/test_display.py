import numpy as np

from coursepkg.display import glue, show_source
from coursepkg.early_stopping import EarlyStopping
from coursepkg.polynomial import fit_polynomial


def test_show_source_lists_the_code_without_its_docstring():
    listing = show_source(fit_polynomial).data
    assert listing.startswith("def fit_polynomial(")
    assert "torch.linalg.lstsq" in listing
    assert "Parameters" not in listing
    assert "Parameters" in show_source(fit_polynomial, docstring=True).data


def test_show_source_of_a_method_is_dedented():
    assert show_source(EarlyStopping.step).data.startswith("def step(")


def test_glue_records_a_numpy_scalar_as_the_python_number_it_holds(monkeypatch):
    recorded = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: recorded.update({name: value}))
    glue("x", np.float64(0.25), display=False)
    glue("n", np.int64(3), display=False)
    assert recorded == {"x": 0.25, "n": 3}
    assert type(recorded["x"]) is float and type(recorded["n"]) is int
