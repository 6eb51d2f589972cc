"""The decoding job's plain parts: diversity measures, benchmarks, lm-eval gen_kwargs, EAD's
decode loop (dummy engines) and the report's headline rule."""

import json
import math

import polars as pl
import pytest
import yaml
from lm_eval.utils import simple_parse_args_string

from tasks.decoding import diversity, report
from tasks.decoding.benchmarks import BENCHMARKS, write
from tasks.decoding.config import DecodingConfig
from tasks.engines import open_engine
from tasks.errors import InfopipeError
from tasks.lmeval import gen_kwargs, sampling
from tasks.params import load_params
from tasks.samplers import SamplerSetting, ead

from ..conftest import ROOT


def test_distinct_counts_unique_ngrams_over_the_set():
    texts = ["a b a b", "a b c"]
    # bigrams: ab ba ab | ab bc -> 3 unique of 5
    assert diversity.distinct(texts, 2) == pytest.approx(3 / 5)
    assert diversity.distinct(texts, 1) == pytest.approx(3 / 7)
    assert math.isnan(diversity.distinct(["a"], 2))


def test_repetition_is_the_share_of_repeated_4grams():
    assert diversity.repetition("a b c d e f") == 0.0
    # 4-grams of "a b c d a b c d": abcd bcda cdab dabc abcd -> 4 unique of 5
    assert diversity.repetition("a b c d a b c d") == pytest.approx(1 - 4 / 5)
    assert diversity.repetition("x y") == 0.0


def test_self_bleu_is_high_for_copies_and_low_for_disjoint_texts():
    same = ["the cat sat on the mat today"] * 3
    assert diversity.self_bleu(same) == pytest.approx(100.0)
    disjoint = ["one two three four five", "six seven eight nine ten", "red green blue cyan pink"]
    assert diversity.self_bleu(disjoint) < 1.0
    assert math.isnan(diversity.self_bleu(["alone"]))


def test_arithmetic_is_seeded_and_scored_by_its_first_number():
    a, b = BENCHMARKS.get("arithmetic").documents(20, 0), BENCHMARKS.get("arithmetic").documents(20, 0)
    assert a == b and a != BENCHMARKS.get("arithmetic").documents(20, 1)
    for doc in a:
        numbers = [int(w) for w in doc["question"].replace("?", "").split() if w.isdigit()]
        assert int(doc["answer"]) in (numbers[0] + numbers[1], numbers[0] - numbers[1])
    correct = BENCHMARKS.get("arithmetic").correct
    assert correct("13 apples", "13") == 1.0
    assert correct("She has 3 apples, not 13", "13") == 0.0  # the first number counts
    assert correct("thirteen", "13") == 0.0


def test_benchmark_yaml_is_an_lm_eval_generate_until_task(tmp_path):
    name = write("arithmetic", tmp_path, 5, 0, 16)
    spec = yaml.safe_load((tmp_path / "arithmetic.yaml").read_text())
    assert name == spec["task"] == "infopipe_arithmetic"
    assert spec["output_type"] == "generate_until" and spec["metadata"]["version"] >= 1
    assert spec["generation_kwargs"]["max_gen_toks"] == 16
    rows = [json.loads(line) for line in (tmp_path / "arithmetic.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and {"prompt", "answer", "question", "id"} <= set(rows[0])
    from lm_eval.tasks import TaskManager

    assert name in TaskManager(include_path=str(tmp_path), include_defaults=False).all_tasks


@pytest.mark.parametrize(
    "setting",
    [
        SamplerSetting(name="typical", args={"tau": 0.9}),
        SamplerSetting(name="top_h", args={"alpha": 0.4, "renormalise": False}, temperature=2.0),
        SamplerSetting(name="mirostat_v1", args={"tau": 3.0, "eta": 0.2, "m": 50}, order="truncation_first"),
        SamplerSetting(name="ead", args={"large": "world-l", "threshold": 2.5}),
    ],
    ids=lambda s: s.label,
)
def test_gen_kwargs_round_trip_through_lm_evals_parser(setting):
    kwargs = simple_parse_args_string(gen_kwargs(setting))
    config, until = sampling({"until": ["\n"], "max_gen_toks": 8, "do_sample": False, **kwargs})
    assert config.sampler == setting and until == ["\n"] and config.max_tokens == 8


def test_gen_kwargs_without_a_sampler_use_the_built_ins():
    config, _ = sampling({"until": "Q:", "do_sample": True, "temperature": 0.7, "top_p": 0.9})
    assert config.sampler is None and config.temperature == 0.7 and config.top_p == 0.9
    assert sampling({"do_sample": False, "temperature": 0.7})[0].greedy
    with pytest.raises(InfopipeError, match="unknown key 'tau'"):
        sampling({"tau": 0.9})
    with pytest.raises(ValueError, match="tau"):
        sampling({"sampler": "typical", "tau": 3.0})


@pytest.fixture(scope="module")
def dummy_params():
    return load_params(ROOT / "params.yaml", ["engine.backend=dummy"])


def test_ead_decodes_with_the_model_its_switch_names(dummy_params):
    small = open_engine(dummy_params, "world-s")
    large = open_engine(dummy_params, "world-l")
    ids = small.encode_prompts(["hello world", "another prompt here"], 12, "error")
    for threshold, expect in [(50.0, {"small"}), (1e-3, {"small", "large"})]:
        setting = SamplerSetting(name="ead", args={"large": "world-l", "threshold": threshold, "window": 2})
        gens = ead.generate(small, large, ids, setting, 12)
        for g in gens:
            assert len(g.token_ids) == len(g.models) == len(g.entropy_bits) == 12
            assert set(g.models) == expect
            # The model of step t + 1 is the switch's answer after step t's entropy.
            switch = ead.Switch(threshold, 2)
            assert g.models == ["small", *[switch.step(h) for h in g.entropy_bits][:-1]]
    assert report.large_share(gens) > 0.5


def prose_table(rows: dict[str, tuple[float, float, float]], model: str = "m") -> pl.DataFrame:
    """Cells of a prose model: label -> (repetition, judge perplexity, surprise error)."""
    out = []
    for label, (rep, ppl, err) in rows.items():
        name = label.split("(")[0]
        out.append(
            {
                "model": model,
                "setting": label,
                "sampler": name,
                "status": "ok",
                "error": None,
                "repetition": rep,
                "judge_perplexity": ppl,
                "distinct_2": 0.5,
                "self_bleu": 10.0,
                "surprise_relative_error": err if name.startswith("mirostat") else None,
                "accuracy_world_qa": 0.5,
                "large_share": None,
            }
        )
    return pl.DataFrame(out)


def test_headline_needs_less_repetition_at_comparable_perplexity_and_mirostat_on_target():
    track = {"t": {"model": "m", "judge": "big"}}
    config = DecodingConfig(models=["m"], benchmarks=["world_qa"], prose={"tracks": track})
    good = {
        "greedy": (0.30, 3.0, 0.0),
        "top_k(k=40)": (0.05, 10.0, 0.0),
        "typical(tau=0.9)": (0.02, 11.0, 0.0),
        "mirostat_v2(tau=3.0)": (0.01, 9.0, 0.05),
        "top_h(alpha=0.4)": (0.03, 12.0, 0.0),
    }
    metrics = report.metrics(report.complete(prose_table(good), ["world_qa"]), config)
    assert metrics["headline_met"] is True
    assert metrics["repetition"]["typical(tau=0.9)"] == 0.02
    assert metrics["mirostat_surprise_relative_error"] == 0.05
    for bad in [
        {**good, "typical(tau=0.9)": (0.06, 11.0, 0.0)},  # repeats more than top-k
        {**good, "top_h(alpha=0.4)": (0.03, 13.0, 0.0)},  # perplexity > 1.25 x top-k's
        {**good, "mirostat_v2(tau=3.0)": (0.01, 9.0, 0.2)},  # 20% off its target
    ]:
        assert (
            report.metrics(report.complete(prose_table(bad), ["world_qa"]), config)["headline_met"] is False
        )


def test_the_headline_is_judged_on_tracks_whose_judge_is_not_their_generator():
    tracks = {"own": {"model": "s", "judge": "s"}, "family": {"model": "m", "judge": "big"}}
    config = DecodingConfig(models=["s", "m"], benchmarks=["world_qa"], prose={"tracks": tracks})
    good = {
        "greedy": (0.30, 3.0, 0.0),
        "top_k(k=40)": (0.05, 10.0, 0.0),
        "typical(tau=0.9)": (0.02, 11.0, 0.0),
    }
    bad = {**good, "typical(tau=0.9)": (0.06, 11.0, 0.0)}
    for own, family, met in [(bad, good, True), (good, bad, False)]:
        table = pl.concat([prose_table(own, "s"), prose_table(family, "m")])
        metrics = report.metrics(report.complete(table, ["world_qa"]), config)
        assert metrics["headline_tracks"] == ["family"] and metrics["headline_met"] is met
        assert metrics["tracks"]["own"]["self_judged"] and not metrics["tracks"]["family"]["self_judged"]
        assert metrics["generator"] == metrics["judge"] == "s"  # the first track's at the top level


@pytest.mark.parametrize(
    ("prose", "field"),
    [
        ({"tracks": {"x": {"model": "other", "judge": "m"}}}, "prose.tracks.x.model"),
        (
            {"tracks": {"a": {"model": "m", "judge": "m"}, "b": {"model": "m", "judge": "j"}}},
            "tracks.b.model",
        ),
    ],
)
def test_a_track_names_one_generator_of_the_grid(prose, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        DecodingConfig(models=["m"], benchmarks=["world_qa"], prose=prose)


def test_mirostat_error_is_measured_after_the_controller_settles():
    from tasks.decoding.config import ProseConfig
    from tasks.decoding.report import prose_metrics
    from tasks.samplers import SamplerSetting

    # Surprise starts far from tau and settles on it: only the steady part counts.
    prose = pl.DataFrame(
        {
            "text": ["a b c d e f", "g h i j k l"],
            "surprisal": [[9.0, 9.0, 3.0, 3.3, 2.7, 3.0], [9.0, 9.0, 3.0, 3.0, 3.0, 3.0]],
            "entropy": [[1.0] * 6, [1.0] * 6],
            "judge_bits": [6.0, 6.0],
            "judge_tokens": [6, 6],
        }
    )
    setting = SamplerSetting(name="mirostat_v2", args={"tau": 3.0, "eta": 0.1})
    settled = prose_metrics(prose, setting, settle=2)
    assert (
        settled["steady_surprisal_bits"] == pytest.approx(3.0) and settled["surprise_relative_error"] < 1e-9
    )
    assert prose_metrics(prose, setting)["surprise_relative_error"] == pytest.approx(2 / 3)  # mean 5 bits
    with pytest.raises(ValueError, match="settle_tokens"):
        ProseConfig(max_tokens=32, settle_tokens=32)


def test_repetition_minus_top_k_is_paired_by_prefix():
    """The headline's repetition comparison with its paired bootstrap CI over prefixes."""
    loop = "the cat sat on the mat " * 4  # every 4-gram after the first six repeats
    fresh = "one two three four five six seven eight nine ten eleven twelve"
    rows = []
    for i in range(8):
        rows.append({"setting": "top_k(k=40)", "sampler": "top_k", "prefix_id": f"p{i}", "text": loop})
        rows.append(
            {"setting": "typical(tau=0.9)", "sampler": "typical", "prefix_id": f"p{i}", "text": fresh}
        )
        rows.append({"setting": "greedy", "sampler": "greedy", "prefix_id": f"p{i}", "text": loop})
    got = report.repetition_minus_top_k(pl.DataFrame(rows), 200, 0)
    assert set(got) == {"typical(tau=0.9)"}  # only the headline's samplers
    expected = -diversity.repetition(loop)
    assert got["typical(tau=0.9)"]["difference"] == pytest.approx(expected)
    assert got["typical(tau=0.9)"]["ci95_low"] == pytest.approx(expected)  # no spread: every pair alike
    assert (
        report.repetition_minus_top_k(pl.DataFrame(rows).filter(pl.col("sampler") != "top_k"), 200, 0) == {}
    )
