"""The miniature world: fictional entities, their relations, documents rendered from templates,
and the ground truth (entity and fact spans, single- and multi-hop questions) every job checks
against. Deterministic from a seed; train and held-out splits use disjoint entities."""
