"""Training that outlasts a session: a checkpoint after every epoch, and resume.

A full run of the second-generation model takes longer than a working
session on two cores, and a process does not outlive its session. After
every epoch the run writes ``checkpoint.pt`` into its output folder: the
weights, their moving average, the optimiser's and the schedule's state, the
random generators' states, the epochs' history and the training time so
far. ``train --resume`` with the same options loads it and goes on with the
next epoch; since every random draw comes from the saved generators, the
resumed run ends with the same weights as one that never stopped.

The file is written beside itself and renamed into place, so a run killed
while saving leaves the previous epoch's checkpoint whole.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

FILE = "checkpoint.pt"
# The options a resumed run must share with the run it goes on from.
RECIPE = ("arch", "epochs", "batch_size", "lr", "weight_decay", "label_smoothing", "seed", "ema", "canvas_share",
          "canvas_forms", "marker", "nondigits", "nondigit_share", "habits", "habit_share", "calibration", "no_augment",
          "limit_train")


class RecipeMismatch(RuntimeError):
    """The checkpoint was made with other options than this run's."""


def recipe(args: argparse.Namespace, epoch_size: int) -> dict:
    """What a run's checkpoint must agree with to be resumed."""
    return {**{k: getattr(args, k) for k in RECIPE}, "epoch_size": epoch_size}


class Run:
    """The checkpoint of one training run, at ``path``."""

    def __init__(self, path: Path, recipe: dict):
        self.path = path
        self.recipe = recipe

    def save(self, epoch, seconds, history, model, averaged, optimiser, schedule, gen: torch.Generator) -> None:
        state = {
            "recipe": self.recipe,
            "epoch": epoch,
            "seconds": seconds,
            "history": history,
            "model": model.state_dict(),
            "averaged": averaged.state_dict() if averaged is not None else None,
            "optimiser": optimiser.state_dict(),
            "schedule": schedule.state_dict(),
            "generator": gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)

    def load(self, model, averaged, optimiser, schedule, gen: torch.Generator) -> tuple[int, float, list[dict]]:
        """Restores every state; returns the next epoch, the seconds trained and the history."""
        state = torch.load(self.path, weights_only=False)
        if state["recipe"] != self.recipe:
            changed = sorted(k for k in self.recipe if state["recipe"].get(k) != self.recipe[k])
            raise RecipeMismatch(f"{self.path} was made with other options: {', '.join(changed)}")
        model.load_state_dict(state["model"])
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        return state["epoch"] + 1, state["seconds"], state["history"]
