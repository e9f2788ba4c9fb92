"""The reproduce script: it holds the exact config and, run on its own, retrains the same model."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from subprocesses import run_python

from deqnet import DataConfig, ModelConfig, RunConfig, TrainConfig, Trainer, build_model, evaluate
from deqnet.sharing import reproduce_script

ROOT = Path(__file__).resolve().parents[1]

SMALL = RunConfig(
    data=DataConfig(name="spiral", n=60, n_classes=3, noise=0.05, seed=4),
    model=ModelConfig(family="node", width=6, steps=4, time_mode="piecewise", segments=2),
    train=TrainConfig(batch_size=16, lr=0.05, seed=7, train_steps=6),
)


def _config_calls(source: str) -> dict[str, dict]:
    """Keyword arguments of the DataConfig/ModelConfig/TrainConfig calls, as Python values."""
    calls = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "").endswith("Config"):
            calls[node.func.id] = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    return calls


def test_script_holds_every_config_value_exactly():
    run = RunConfig(
        data=DataConfig(noise=0.1 + 0.2, test_fraction=0.05, seed=2**40),
        model=ModelConfig(family="ruseckas", T=1 / 3, rtol=1e-10, solver="dopri5", gamma=0.0),
        train=TrainConfig(lr=3e-4, momentum=0.999, loss="mse", grad_mode="adjoint"),
    )
    calls = _config_calls(reproduce_script(run))
    assert calls == {
        "DataConfig": run.data.to_dict(),
        "ModelConfig": run.model.to_dict(),
        "TrainConfig": run.train.to_dict(),
    }


def test_script_imports_only_deqnet():
    tree = ast.parse(reproduce_script(SMALL))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [n.module for n in imports] == ["deqnet"]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"eval", "exec", "open", "__import__", "compile"}


def test_script_reproduces_the_run(tmp_path):
    path = tmp_path / "reproduce_run.py"
    path.write_text(reproduce_script(SMALL), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = run_python([str(path)], cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr

    data = SMALL.data.make()
    model = build_model(SMALL.model, data.n_classes, seed=SMALL.train.seed)
    trainer = Trainer(model, data, SMALL.train)
    trainer.step(SMALL.train.train_steps)
    assert trainer.status == "ok"
    metrics = evaluate(model, data, SMALL.train.loss)

    lines = proc.stdout.strip().splitlines()
    assert lines == [
        f"steps trained: {SMALL.train.train_steps}",
        f"train accuracy: {metrics['train_acc']:.6f}",
        f"test accuracy: {metrics['test_acc']:.6f}",
        f"train loss: {metrics['train_loss']:.6f}",
        f"test loss: {metrics['test_loss']:.6f}",
    ]
