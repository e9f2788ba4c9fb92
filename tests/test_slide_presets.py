"""The slides' two examples, trained as their presets say, show what the slides show."""

import numpy as np
import torch

from deqnet import Trainer, build_model, trajectory
from deqnet.analysis.readout import readout_line
from deqnet.presets import PRESETS


def _trained(name: str):
    run = PRESETS[name].run
    data = run.data.make()
    model = build_model(run.model, data.n_classes, seed=run.train.seed)
    trainer = Trainer(model, data, run.train)
    trainer.step(run.train.train_steps)
    assert trainer.status == "ok", trainer.message
    return model, data, trainer.history[-1]


def test_100_plain_layers_move_each_point_a_little_at_a_time():
    model, data, _ = _trained("slides-100-layers")
    assert model.layers == 100
    states = trajectory(model, data.x_test[:64]).x  # (101, 64, 2)
    steps = np.linalg.norm(np.diff(states, axis=0), axis=-1)  # (100, 64)
    travelled = steps.sum(axis=0)
    moving = travelled > 1e-3
    # Gradual: no single layer covers more than a tenth of a path that a hundred layers trace.
    assert moving.mean() > 0.9
    assert np.all(steps.max(axis=0)[moving] < 0.1 * travelled[moving])


def test_3d_final_features_lie_along_the_readout_line_in_class_order():
    model, data, last = _trained("slides-3d-line")
    assert model.config.dim == 3 and model.layers == 20
    assert last.test_acc >= 0.95
    with torch.no_grad():
        x_final = model.flow(model.lift(torch.as_tensor(data.x_test))).numpy()
    line = readout_line(model, x_final, data.y_test)
    assert list(line.order) == [0, 1]
    # The classes sit on either side of the boundary, the gap between their means is wide
    # compared with their spread along the line.
    below = line.position < line.boundary
    assert np.mean(below == (line.labels == 0)) >= 0.95
    spread = max(line.position[line.labels == k].std() for k in (0, 1))
    assert line.class_means[1] - line.class_means[0] > 3 * spread
