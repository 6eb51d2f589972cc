"""Every section of params.yaml at once: what `infopipe params` prints, what nightly and the
deployments validate before hours of stages, what benchmarks read. It only assembles the
sections; each lives beside its job (tasks/<job>/config.py) or in tasks/config (shared).
A stage loads only its own params (e.g. tasks/mi/config.py: MiSweepParams)."""

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from tasks.checkpoints.config import CheckpointsConfig
from tasks.compression.config import CompressionConfig
from tasks.config import RunnerConfig, load
from tasks.config.bench import BenchConfig
from tasks.corpus.config import CorpusConfig
from tasks.decoding.config import DecodingConfig
from tasks.entigraph.config import EntigraphConfig
from tasks.generate.config import GenerateParams
from tasks.mi.config import MiSweepConfig
from tasks.models.config import TrainingConfig
from tasks.report.config import ReportConfig
from tasks.rl_run.config import RlRunConfig
from tasks.world.config import WorldConfig


class Params(GenerateParams):  # GenerateParams: the shared sections and generate's own check
    world: WorldConfig = WorldConfig()
    corpus: CorpusConfig = CorpusConfig()
    training: TrainingConfig = TrainingConfig()
    compression: CompressionConfig = Field(default_factory=CompressionConfig)
    entigraph: EntigraphConfig = Field(default_factory=EntigraphConfig)
    mi_sweep: MiSweepConfig = Field(default_factory=MiSweepConfig)
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    rl_run: RlRunConfig = RlRunConfig()
    checkpoints: CheckpointsConfig = CheckpointsConfig()
    report: ReportConfig = ReportConfig()
    runner: RunnerConfig = RunnerConfig()
    bench: BenchConfig


def load_params(path: Path | str = "params.yaml", overrides: Sequence[str] = ()) -> Params:
    """Every section, validated (unknown sections are errors: Params forbids extra keys)."""
    return load(Params, path, overrides, known=Params.model_fields)
