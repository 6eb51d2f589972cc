"""The mi_sweep stage's parts without a model: config checks, the grid, answer scores, rank
correlation, FLOPs and parameter counts, stores, the report's decisions, scoring on the dummy engine."""

import json
import math
import random

import numpy as np
import polars as pl
import pytest

from tasks import prompts
from tasks.answers import contains, exact_match, f1
from tasks.errors import InfopipeError
from tasks.mi import cost, datasets, report
from tasks.mi.base import other_contexts
from tasks.mi.scoring import score_notes
from tasks.mi.sweep import Parts, assemble, compressions, grid
from tasks.params import load_params
from tasks.parts import PartStore
from tasks.stats import spearman
from tasks.world.build import build_world

from ..conftest import ROOT

DUMMY = ["engine.backend=dummy", "models.smollm2-135m-instruct.chat_template=false"]


def _params(*overrides):
    return load_params(ROOT / "params.yaml", [*DUMMY, *overrides])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("mi_sweep.other_contexts=64", r"mi_sweep: other_contexts: M = 64 but there are only 63"),
        ("mi_sweep.datasets=[longhealth]", r"mi_sweep: datasets: unknown dataset 'longhealth'"),
        ("mi_sweep.estimator=infonce", r"mi_sweep\.estimator: unknown estimator 'infonce'"),
        ("mi_sweep.temperature=0", r"mi_sweep\.temperature"),
        ("mi_sweep.compressors=[gpt-9]", r"mi_sweep\.compressors\.0: unknown model 'gpt-9'"),
        ("mi_sweep.scorer=nobody", r"mi_sweep\.scorer: unknown model 'nobody'"),
        ("mi_sweep.budgets=[]", r"mi_sweep: budgets is empty"),
        ("mi_sweep.prompt=nope", r"unknown prompt 'nope'"),
        ("mi_sweep.typo=1", r"mi_sweep\.typo: unknown key"),
    ],
)
def test_bad_sweep_configs_are_one_line_errors_naming_the_field(override, message):
    with pytest.raises(InfopipeError, match=message) as err:
        _params(override)
    assert "\n" not in str(err.value)


def test_a_named_jsonl_dataset_is_accepted_and_read(tmp_path):
    path = tmp_path / "qa.jsonl"
    rows = [{"id": f"q{i}", "context": f"Doc {i}.", "question": f"Q{i}?", "answer": i} for i in range(3)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    files = f"mi_sweep.dataset_files={{mine: {path}}}"
    sweep = ["mi_sweep.datasets=[mine]", "mi_sweep.contexts=2", "mi_sweep.other_contexts=1"]
    config = _params(files, *sweep).mi_sweep
    items = datasets.load(config, "mine")
    assert [(i.item_id, i.answer) for i in items] == [("q0", "0"), ("q1", "1")]
    path.write_text('{"context": "x"}\n')
    with pytest.raises(InfopipeError, match=r"qa\.jsonl:1: expected JSON with context, question, answer"):
        datasets.load(config, "mine")


def test_world_items_carry_notes_that_hold_the_answer(tmp_path, monkeypatch):
    params = _params("mi_sweep.contexts=32", "mi_sweep.other_contexts=31", "world.heldout.organisations=40")
    (tmp_path / "data/world").mkdir(parents=True)
    for name, table in build_world(params.world).items():
        table.write_parquet(tmp_path / "data/world" / f"{name}.parquet")
    monkeypatch.chdir(tmp_path)  # the reader reads data/world, as a stage does
    config = params.mi_sweep
    items = datasets.load(config, "world")
    assert len(items) == 32 and len({i.item_id for i in items}) == 32
    assert all(i.notes and contains(i.notes, i.answer) for i in items)
    assert all(i.notes in i.context or all(s in i.context for s in i.notes.split(". ")) for i in items)
    assert datasets.load(config, "world") == items  # seeded
    with pytest.raises(InfopipeError, match=r"dataset world: has 40 items, mi_sweep\.contexts asks for 41"):
        datasets.load(config.model_copy(update={"contexts": 41}), "world")


def test_the_grid_is_every_combination_ordered_by_predictor():
    config = _params().mi_sweep
    cells = grid(config)
    n = len(config.datasets) * len(config.compressors) * len(config.predictors) * len(config.budgets)
    assert len(cells) == len(set(cells)) == n
    firsts = [c.predictor for c in cells]
    assert firsts == sorted(firsts, key=config.predictors.index)  # one engine load per predictor
    assert {c.compression for c in cells} == set(compressions(config))


@pytest.mark.parametrize(
    ("prediction", "answer", "em", "f"),
    [
        ("The Zaran Air", "Zaran Air", 1.0, 1.0),  # articles and case are normalised away
        ("Zaran Air.\nmore text", "zaran air", 1.0, 1.0),  # the first line is the answer
        ("It makes the Zaran Air", "Zaran Air", 0.0, 2 * 0.5 * 1 / 1.5),  # "it makes zaran air"
        ("Vefex", "Vefex Satol", 0.0, 2 * 1 * 0.5 / 1.5),
        ("nothing", "Vefex Satol", 0.0, 0.0),
        ("", "x", 0.0, 0.0),
    ],
)
def test_exact_match_and_f1_follow_the_squad_script(prediction, answer, em, f):
    assert exact_match(prediction, answer) == em
    assert f1(prediction, answer) == pytest.approx(f)


def test_spearman_equals_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(0)
    for _ in range(20):
        x = [rng.randint(0, 5) for _ in range(15)]
        y = [xi + rng.randint(-3, 3) for xi in x]
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert math.isnan(spearman([1, 2], [1, 2])) and math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_parameters_are_counted_from_safetensors_headers(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    from tasks.hf import loader

    tensors = {"a": torch.zeros(3, 4), "b": torch.zeros(5), "c": torch.zeros(2, 2, 2)}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    assert loader.parameters(str(tmp_path)) == sum(t.numel() for t in tensors.values())
    assert cost.flops(1000, 50) == 2 * 1000 * 50


def test_parameters_of_an_unloadable_model_are_unknown(tmp_path, monkeypatch):
    params = _params("models.broken.path=data/models/nope", f"models.local.path={tmp_path}")
    assert cost.parameters(params, "broken") is None  # no model at its path
    (tmp_path / "config.json").write_text("{}")

    def unreadable(source, revision=None):
        raise PermissionError(13, "Permission denied", source)

    monkeypatch.setattr(cost.loader, "parameters", unreadable)
    assert cost.parameters(params, "local") is None

    def buggy(source, revision=None):
        raise KeyError("shape")

    monkeypatch.setattr(cost.loader, "parameters", buggy)
    with pytest.raises(KeyError):  # a bug is not a failed model: it surfaces
        cost.parameters(params, "local")


def test_part_store_skips_finished_parts_and_prunes_stale_ones(tmp_path):
    store = PartStore(tmp_path, "h1")
    store.write("a", pl.DataFrame({"x": [1]}))
    store.write("b", pl.DataFrame({"x": [2]}))
    assert store.done("a") and store.read("b")["x"].to_list() == [2]
    PartStore(tmp_path, "h2").write("a", pl.DataFrame({"x": [3]}))  # other settings
    store.prune(["a"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-h1.parquet"]


def _dummy_engine():
    from tasks.engines import open_engine

    return open_engine(_params(), "world-s")


def test_notes_are_scored_against_their_own_and_other_contexts_never_their_own_twice():
    config = _params("mi_sweep.contexts=4", "mi_sweep.other_contexts=2", "mi_sweep.samples=2").mi_sweep
    items = [datasets.Item(f"i{k}", f"Doc {k} about firm {k}.", f"Who runs firm {k}?", "x") for k in range(4)]
    notes = pl.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(4) for _ in range(2)][::-1],  # any row order
            "sample": [s for _ in range(4) for s in range(2)][::-1],
            "notes": [f"notes {k}.{s}" for k in range(4) for s in range(2)][::-1],
            "token_ids": [[1, 2, 3]] * 8,
        }
    )
    engine = _dummy_engine()
    table = score_notes(engine, items, notes, config, sampled_ids=False)
    assert table.select("item_id", "sample").rows() == [(f"i{k}", s) for k in range(4) for s in range(2)]
    others = other_contexts(4, 2, config.seed)
    template = prompts.load(config.prompt)

    def direct(z: str, j: int, k: int) -> float:
        prompt = template.render(document=items[j].context, question=items[k].question)
        return sum(engine.score([prompt], [z])[0])

    for row in table.iter_rows(named=True):
        k = int(row["item_id"][1:])
        z = f"notes {k}.{row['sample']}"
        assert row["own"] == direct(z, k, k)
        assert row["others"] == [direct(z, j, k) for j in others[k]]  # x_j for j != k, same question


def _table(rows):
    base = {
        "dataset": "world",
        "budget": 16,
        "status": "ok",
        "error": None,
        "notes_tokens": 10.0,
        "notes_answer_rate": 0.5,
        "mi_ceiling_bits": 3.0,
    }
    return pl.DataFrame([{**base, **r, "cell": f"{r['compressor']}-{r['predictor']}"} for r in rows])


def _grid(sizes, accuracy_of, bits_of):
    rows = []
    for c in sizes:
        for p in sizes:
            bits = bits_of(c)
            rows.append(
                {
                    "compressor": c,
                    "predictor": p,
                    "mi_bits": bits,
                    "bits_per_token": bits / 10,
                    "accuracy": accuracy_of(c, p),
                    "flops": 1e9 * (sizes[c] + sizes[p]),
                }
            )
    return rows


def test_report_decides_the_headline_from_the_cells():
    sizes = {"s": 1, "m": 10, "l": 100}
    bits = {"s": 1.0, "m": 2.0, "l": 3.0}
    # The compressor matters more: per GFLOP, scaling it gains more than scaling the predictor.
    rows = _grid(sizes, lambda c, p: 0.1 * sizes[c] ** 0.3 + 0.01 * sizes[p] ** 0.1, bits.get)
    rows.append({"compressor": "x", "predictor": "s", "status": "failed", "error": "x failed to load: boom"})
    table = _table(rows)
    metrics = report.metrics(table, sizes, {})
    assert metrics["cells"] == 10 and metrics["failed_cells"] == 1
    assert metrics["failures"] == {"x-s": "x failed to load: boom"}
    assert metrics["bits_per_token_by_compressor"] == {"l": 0.3, "m": 0.2, "s": 0.1}
    assert metrics["compressor_parameters"] == {"s": 1, "m": 10, "l": 100}
    assert metrics["spearman_mi_accuracy"] > 0.8
    scaling = metrics["scaling"]
    assert scaling["scale_compressor"]["accuracy_gain_per_gflop"] == pytest.approx(
        (0.1 * 100**0.3 - 0.1) / 99
    )
    assert metrics["headline"]["compressor_scaling_beats_predictor_scaling"] is True
    # l's 3.0 bits sit at its 3.0-bit ceiling: a lower bound, out of the fit (s and m remain)
    assert metrics["cells_at_ceiling"] == ["world-l-16"]
    assert metrics["bits_per_token_slope"] == pytest.approx(0.1)  # 0.1 -> 0.2 over one decade
    assert metrics["bits_per_token_rises_with_compressor_size"] is True
    assert metrics["headline_met"] is True
    flipped = table.with_columns(pl.col("bits_per_token") * -1)
    assert (
        report.metrics(flipped, sizes, {})["headline"]["bits_per_token_rises_with_compressor_size"] is False
    )


def test_predictors_that_cannot_read_and_out_of_family_compressors_are_left_out():
    sizes = {"s": 1, "m": 10, "l": 100}
    rows = _grid(
        sizes, lambda c, p: 0.0 if p == "s" else 0.1 * sizes[c] ** 0.3, lambda c: 0.5 * sizes[c] ** 0.2
    )
    table = _table(rows)
    metrics = report.metrics(table, sizes, {}, None, {"s": 0.1, "m": 0.4, "l": 0.5}, 0.3, ["l"])
    assert metrics["predictors_left_out"] == ["s"] and metrics["cells_in_analyses"] == 6
    assert metrics["spearman_mi_accuracy_by_predictor"].keys() == {"m", "l"}
    assert metrics["compressor_parameters"] == {"s": 1, "m": 10, "l": 100}  # reported
    assert metrics["scaling"]["scale_compressor"]["to"] == "m"  # l is another family
    assert metrics["bits_per_token_slope"] == pytest.approx((0.05 * 10**0.2 - 0.05) / 1)
    # Within budgets: a compressor seen at one budget only says nothing about the slope.
    other = table.with_columns(
        pl.when(pl.col("compressor") == "m").then(32).otherwise(pl.col("budget")).alias("budget"),
        pl.when(pl.col("compressor") == "m")
        .then(9.0)
        .otherwise(pl.col("bits_per_token"))
        .alias("bits_per_token"),
    )
    assert report.metrics(other, sizes, {}, None, {"m": 0.4}, 0.3, ["l"])["bits_per_token_slope"] is None


def test_intervals_resample_the_items_jointly_and_cover_the_point_value():
    """Two compressions on 40 items: the better one's notes carry the answer (high MI, correct);
    the paired bootstrap over items gives CIs around the point values, and identical inputs
    give identical intervals (seeded)."""
    rng = np.random.default_rng(1)
    items = [f"i{k}" for k in range(40)]
    sizes = {"s": 1, "m": 10, "l": 100}
    rows, answers, terms = [], [], []
    for c, level in [("s", 0.2), ("m", 0.5), ("l", 0.8)]:
        nats = rng.normal(level * 3, 0.3, len(items))
        correct = (rng.random(len(items)) < level).astype(float)
        key = f"world-{c}-16"
        cell = f"{c}-m"
        rows.append({"compressor": c, "predictor": "m", "mi_bits": nats.mean() / math.log(2),
                     "bits_per_token": nats.mean() / math.log(2) / 10, "accuracy": correct.mean(),
                     "flops": 1e9 * (sizes[c] + 10), "mi_ceiling_bits": 6.0})  # fmt: skip
        answers.append(pl.DataFrame({"cell": cell, "item_id": items, "accuracy": correct}))
        terms.append(
            pl.DataFrame(
                {"compression": key, "dataset": "world", "item_id": items, "nats": nats, "tokens": 10}
            )
        )
    table = _table(rows)
    both = (pl.concat(answers), pl.concat(terms))
    metrics = report.metrics(table, sizes, {}, both, {"m": 0.5}, 0.3)
    low, high = metrics["bits_per_token_slope_ci95"]
    assert low <= metrics["bits_per_token_slope"] <= high and low > 0
    assert metrics["spearman_mi_accuracy"] == pytest.approx(1.0)
    rho_low, rho_high = metrics["spearman_mi_accuracy_ci95"]
    assert -1 <= rho_low <= rho_high <= 1
    assert report.metrics(table, sizes, {}, both, {"m": 0.5}, 0.3)["bits_per_token_slope_ci95"] == [low, high]


def test_the_estimators_bias_at_the_sweeps_m_is_small_and_negative_near_the_ceiling():
    from tasks.mi import channels

    bias = channels.relative_bias(n=64, m=63, repeats=20)
    assert set(bias) == {f"symmetric_k{c.k}_eps{c.eps}" for c in channels.CHANNELS}
    # Bootstrap-free: a mean over 20 seeds of 64 samples; the channels' MI is at most log 16 nats,
    # well under log 64, so the bias is a few percent at most (0.15: a bound decided beforehand).
    assert all(abs(b) < 0.15 for b in bias.values())
    low_m = channels.relative_bias(n=64, m=3, repeats=20)
    assert low_m["symmetric_k16_eps0.3"] < bias["symmetric_k16_eps0.3"]  # fewer contexts: lower ceiling


@pytest.mark.heavy  # ~14 s: the known-MI channels at the validation size
def test_known_mi_validation_is_within_5_percent_and_the_ceiling_is_shown():
    figures = report.known_mi()
    assert figures["known_mi_relative_error"] < 0.05
    demo = figures["ceiling_demo"]
    assert demo["estimate_nats"] <= demo["ceiling_nats"] + 1e-9 < demo["true_nats"]
    assert np.isclose(demo["ceiling_nats"], math.log(demo["other_contexts"] + 1))


def test_reused_tokens_counts_whole_blocks_seen_before_never_the_last_token():
    from tasks.bench.mi import reused_tokens

    assert reused_tokens([[1, 2, 3, 4, 5], [1, 2, 3, 4, 6], [1, 2, 3, 4, 5]], 2) == 0 + 4 + 4
    assert reused_tokens([[1, 2, 3, 4], [1, 2, 3, 4]], 2) == 2  # the repeat's last block is recomputed
    assert reused_tokens([[1, 2, 3], [9, 2, 3]], 1) == 0  # a prefix, not any shared block


@pytest.mark.heavy  # ~12 s: the report's known-MI validation
def test_a_sweep_whose_every_compression_failed_still_reports(tmp_path):
    params = _params(
        "mi_sweep.compressors=[world-s]", "mi_sweep.predictors=[world-s]", "mi_sweep.budgets=[8]"
    )
    parts = Parts(params, PartStore(tmp_path, "x"))
    failures = {parts.notes(c): "world-s failed to load: no weights" for c in compressions(params.mi_sweep)}
    sweep = assemble(params.mi_sweep, parts, failures, {"world-s": 10}, {"world": {}})
    table = sweep.table
    assert table["status"].to_list() == ["failed"] and table["error"][0].startswith("world-s failed to load")
    assert {"mi_bits", "accuracy", "flops"} <= set(table.columns) and sweep.answers.is_empty()
    metrics = report.metrics(table, {"world-s": 10}, report.known_mi(), (sweep.answers, sweep.terms), {})
    assert metrics["failed_cells"] == metrics["cells"] == 1
    assert "failed" in report.summary(metrics, table)
