"""EntiGraph synthetic continued pretraining (stage `entigraph`; Yang et al. 2024)."""

from tasks.entigraph import entities  # noqa: F401 - registers the extractors
