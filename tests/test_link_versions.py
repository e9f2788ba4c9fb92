"""Links keep their meaning: the format version ``v``, per-version defaults and the migration of
older links (``deqnet.sharing.query``).

The links below were written by the encoder as it is today (version 1) and are kept here as
literal text, each with the configuration it opened, also written out literally: whatever the
defaults become, these links must keep opening the same configuration.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

import deqnet.sharing.query as query
from deqnet.config import DataConfig, RunConfig
from deqnet.sharing import FIELD_SPECS, run_from_query, run_to_query

# Every field as version 1 of the link format left it out (the defaults on 2026-12-06).
V1_CONFIG = {
    "data": {"name": "moons", "n": 512, "noise": 0.1, "test_fraction": 0.3, "seed": 0,
             "n_classes": 2},
    "model": {"family": "node", "augment": 0, "T": 1.0, "width": 16, "activation": "tanh",
              "time_mode": "autonomous", "segments": 4, "gamma": 0.1, "nonlinearity": "cubic",
              "solver": "rk4", "steps": 10, "rtol": 0.001, "atol": 0.0001, "max_steps": 1000,
              "layers": 10},
    "train": {"optimizer": "adam", "lr": 0.02, "batch_size": 0, "weight_decay": 0.0,
              "loss": "cross_entropy", "grad_mode": "backprop", "grad_clip": 5.0,
              "momentum": 0.9, "seed": 0, "train_steps": 300},
}  # fmt: skip

# (link as the address bar showed it, what it changes from V1_CONFIG, its view flags)
LINKS = [
    ("/?v=1", {}, {}),
    (
        "/trajectories?v=1&dataset=spiral&noise=0.25&dseed=42&classes=3&family=resnet&layers=7"
        "&lr=0.005&showtest=1",
        {"data": {"name": "spiral", "noise": 0.25, "seed": 42, "n_classes": 3},
         "model": {"family": "resnet", "layers": 7}, "train": {"lr": 0.005}},
        {"showtest": True},
    ),
    (
        "/momentum?v=1&dataset=concentric&n=300&test=0.2&family=ruseckas&T=2.0&gamma=0.5&g=sine"
        "&solver=dopri5&opt=sgd&grad=adjoint&mom=0.8&budget=800&classroom=1&present=1"
        "&hide=lr%2Cregen",
        {"data": {"name": "concentric", "n": 300, "test_fraction": 0.2},
         "model": {"family": "ruseckas", "T": 2.0, "gamma": 0.5, "nonlinearity": "sine",
                   "solver": "dopri5"},
         "train": {"optimizer": "sgd", "grad_mode": "adjoint", "momentum": 0.8,
                   "train_steps": 800}},
        {"classroom": True, "present": True, "hide": ("lr", "regen")},
    ),
    (
        "/layers?v=1&family=feedforward&width=32&act=relu&mode=piecewise&K=20&layers=20"
        "&batch=64&wd=0.001&seed=7&discrete=1",
        {"model": {"family": "feedforward", "width": 32, "activation": "relu",
                   "time_mode": "piecewise", "segments": 20, "layers": 20},
         "train": {"batch_size": 64, "weight_decay": 0.001, "seed": 7}},
        {"discrete": True},
    ),
    # Made before links had a version: read as version 1.
    ("/?dataset=xor&width=8&budget=50", {"data": {"name": "xor"}, "model": {"width": 8},
                                         "train": {"train_steps": 50}}, {}),
]  # fmt: skip


def _query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query, keep_blank_values=True)


def _expected(changes: dict) -> dict:
    return {name: {**values, **changes.get(name, {})} for name, values in V1_CONFIG.items()}


@pytest.mark.parametrize(("link", "changes", "view"), LINKS)
def test_links_written_today_keep_opening_the_same_configuration(link, changes, view) -> None:
    result = run_from_query(_query(link))
    assert result.notices == []
    decoded = result.run.to_dict()
    for section, values in _expected(changes).items():
        # Fields added later take defaults that reproduce what older links did: not checked here.
        assert {name: decoded[section][name] for name in values} == values, (link, section)
    for key, value in view.items():
        assert result.view[key] == value


def test_every_link_carries_the_version_even_one_of_defaults_only() -> None:
    assert run_to_query(RunConfig()) == {"v": str(query.LINK_VERSION)}
    assert list(run_to_query(RunConfig(data=DataConfig(noise=0.3))))[0] == "v"


def test_every_version_row_names_every_key_and_the_newest_is_todays_defaults() -> None:
    for version, row in query.LINK_DEFAULTS.items():
        assert set(row) == set(FIELD_SPECS), f"version {version}: add the new key to its row"
        decoded = run_from_query({**row, "v": str(version)})
        assert decoded.notices == [], version
    newest = query.LINK_DEFAULTS[query.LINK_VERSION]
    assert run_from_query(newest).run == RunConfig(), (
        "A default changed: add a link version whose row has the new default (see LINK_DEFAULTS)."
    )


def test_a_changed_default_is_migrated_for_older_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend version 2 changed the default noise to 0.2: a version-1 link that left noise out
    meant 0.1 and still opens with 0.1; a version-2 link that leaves it out means 0.2."""
    v2 = {**query.LINK_DEFAULTS[1], "noise": "0.2"}
    monkeypatch.setattr(query, "LINK_DEFAULTS", {**query.LINK_DEFAULTS, 2: v2})
    monkeypatch.setattr(query, "LINK_VERSION", 2)
    today = RunConfig(data=DataConfig(noise=0.2))  # what RunConfig() would then be
    old = run_from_query({"v": "1", "width": "8"}, base=today)
    assert old.run.data.noise == 0.1 and old.run.model.width == 8 and old.notices == []
    unversioned = run_from_query({"width": "8"}, base=today)
    assert unversioned.run.data.noise == 0.1
    assert run_from_query({"v": "2", "width": "8"}, base=today).run.data.noise == 0.2
    # An old link that set the value itself keeps it.
    assert run_from_query({"v": "1", "noise": "0.5"}, base=today).run.data.noise == 0.5
    # A link written then carries v=2 and round-trips.
    written = run_to_query(RunConfig(data=DataConfig(noise=0.1)), base=today)
    assert written == {"v": "2", "noise": "0.1"}
    assert run_from_query(written, base=today).run.data.noise == 0.1


@pytest.mark.parametrize("text", ["0", "-1", "x", "1.0", "", " ", "１", "9" * 40])
def test_an_unreadable_version_is_read_as_version_1_with_a_notice(text: str) -> None:
    result = run_from_query({"v": text, "width": "8"})
    assert result.run.model.width == 8
    assert len(result.notices) == 1 and result.notices[0].startswith(r"v\:")


def test_a_link_from_a_newer_version_is_read_as_this_one_with_a_notice() -> None:
    result = run_from_query({"v": str(query.LINK_VERSION + 1), "width": "8"})
    assert result.run.model.width == 8
    assert "newer deqnet" in result.notices[0]
