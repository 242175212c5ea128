# Copyright (c) mmbas contributors. All rights reserved.
"""Seed refiners: the optional last steps of the seed recipe
(``SeedInferencer(refiner=...)``)."""
from .irn_walk_refiner import IRNWalkRefiner
from .relation_label_refiner import RelationLabelRefiner

__all__ = ['RelationLabelRefiner', 'IRNWalkRefiner']
