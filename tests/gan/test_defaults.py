"""The per-data default tables and the help text quoted from them."""

from genlab.gan.defaults import DATA_DEFAULTS, KIND_DEFAULTS, default_text


def test_help_text_quotes_the_tables() -> None:
    assert default_text("lr_g") == "images 0.0002, 2-D 0.001; mnist 0.002"
    assert default_text("ema_rampup") == "0.05; mnist 0.2"  # equal kinds are said once
    assert default_text("penalty_weight") == "images 10, 2-D 1; grid25 0.1"


def test_every_dataset_override_names_a_known_field() -> None:
    known = set(KIND_DEFAULTS["images"]) & set(KIND_DEFAULTS["points"])
    for name, values in DATA_DEFAULTS.items():
        assert set(values) <= known, f"{name}: {set(values) - known}"
