"""The baseline every accuracy figure is compared with: always the PoC's model, a true cosine."""

import math

import numpy as np

from shared.core.settings import Settings
from shared.evaluation.pocbaseline import baseline_settings, poc_cosine


def test_the_baseline_is_plain_ecapa_whatever_the_product_model():
    fused = Settings(model="fusion", model_source="")
    assert baseline_settings(fused).model == "ecapa"
    own = Settings(model="ecapa", model_source="/models/ecapa")
    assert baseline_settings(own) is own  # an ECAPA deployment keeps its own weights' folder


def test_several_enrol_files_give_the_cosine_of_their_mean():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    test = np.array([1.0, 1.0, 0.0]) / math.sqrt(2)
    assert math.isclose(poc_cosine([a, b], test), 1.0)  # not 0.707: the mean is re-normalised
    assert math.isclose(poc_cosine([a], test), 1 / math.sqrt(2))
