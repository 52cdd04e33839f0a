"""The ``pickle_module`` trackline hands to ``torch.save`` for whole models: cloudpickle.

``torch.save(obj, f, pickle_module=m)`` needs ``m.Pickler``/``m.dump``; ``torch.load`` needs
``m.Unpickler``/``m.load``. cloudpickle writes classes defined in ``__main__`` (a training
script) by value, so the model loads where that script is not importable; reading is the
standard library's unpickler, since cloudpickle's output is an ordinary pickle stream.

Models record this module under MLflow's name, ``mlflow.pytorch.pickle_module`` (MLflow's
module does the same thing), so MLflow loads them too; trackline maps that name back here.
"""

from __future__ import annotations

import pickle

import cloudpickle

Pickler = cloudpickle.CloudPickler
Unpickler = pickle.Unpickler
dump = cloudpickle.dump
dumps = cloudpickle.dumps
load = pickle.load
loads = pickle.loads

__all__ = ["Pickler", "Unpickler", "dump", "dumps", "load", "loads"]
