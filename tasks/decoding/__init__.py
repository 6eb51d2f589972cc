"""Stage `decoding`: the samplers of tasks/samplers on lm-eval benchmarks and prose continuation,
scored on quality, diversity and repetition."""
