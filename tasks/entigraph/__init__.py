"""EntiGraph synthetic continued pretraining (stage `entigraph`; Yang et al. 2024)."""
