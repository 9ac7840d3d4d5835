"""The benchmarks' training protocols: optimizers, learning-rate schedules and hyperparameters.

:data:`PROTOCOLS` holds each benchmark's values; the CLI exposes every field as an option with these defaults.

NAS-Bench-101 (google-research/nasbench ``config.py`` / ``model_builder.py``; spec nb101.md 6):
TF1 ``RMSPropOptimizer(lr, decay=0.9, momentum=0.9, epsilon=1.0)`` -- see :class:`RMSpropTF` -- with the L2 term
``1e-4 * sum(l2_loss(v))`` over every trainable variable (a coupled weight decay of 1e-4), batch 256 from an endless
shuffled stream (batches cross epoch boundaries), ``COSINE_BY_STEP`` from 0.2 (0.1 x 2 TPU shards) over
``T = int(E * N_train / 256)`` steps with the learning rate forced to 0 at step 0, evaluations after step 0, at step
``int(T/2)`` and at ``T`` on the first 9,984 images of each split.

NAS-Bench-201 / NATS-Bench (AutoDL-Projects ``configs/nas-benchmark/hyper-opts``; spec nb201_nds.md 4.2):
SGD lr 0.1, momentum 0.9, Nesterov, weight decay 5e-4 on all parameters, batch 256, cosine per *epoch*
``lr_e = 0.05 (1 + cos(pi e / E))``, no warm-up, evaluation after every epoch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from ..errors import InvalidArgument


#: Protocol fields that ``nasbench-db train`` sets from an option of the same name.
CLI_OPTIONS = ("lr", "batch_size", "weight_decay", "momentum", "optimizer", "bn_momentum", "ghost_batch",
               "eval_schedule", "eval_examples")


def _refuse(name: str, requirement: str, value) -> None:
    option = f" (--{name.replace('_', '-')})" if name in CLI_OPTIONS else ""
    raise InvalidArgument(f"protocol {name}{option} {requirement}: got {value!r}")


@dataclass(frozen=True)
class Protocol:
    """Every hyperparameter of a training run (all recorded in the result JSON)."""

    name: str
    optimizer: str  # 'rmsprop_tf' or 'sgd'
    lr: float
    momentum: float
    weight_decay: float
    batch_size: int
    schedule: str  # 'cosine_by_step' (lr 0 at step 0) or 'cosine_by_epoch'
    nesterov: bool = False
    rmsprop_decay: float = 0.9
    rmsprop_eps: float = 1.0
    rmsprop_ms_init: float = 1.0
    bn_momentum: float = 0.1  # torch convention (1 - TF momentum)
    bn_eps: float = 1e-5
    ghost_batch: int | None = None
    eval_examples: int | None = None  # evaluate on the first N images of each split (None: all)
    eval_schedule: str = "every_epoch"  # 'halfway' (step 0, int(T/2), T) or 'every_epoch'
    stream: bool = False  # True: batches cross epoch boundaries (tf.data repeat before batch)
    pad: int = 4
    flip: bool = True
    default_epochs: int = 200

    def __post_init__(self):
        # A protocol is built from CLI options too: a value no run can use is refused here, before data is loaded.
        choices = {"optimizer": ("rmsprop_tf", "sgd"), "schedule": ("cosine_by_step", "cosine_by_epoch"),
                   "eval_schedule": ("halfway", "every_epoch")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                _refuse(name, f"must be one of {', '.join(allowed)}", getattr(self, name))
        at_least = {"batch_size": 1, "default_epochs": 1, "pad": 0, "lr": 0.0, "momentum": 0.0, "weight_decay": 0.0,
                    "rmsprop_eps": 0.0, "rmsprop_ms_init": 0.0}
        if self.ghost_batch is not None:
            at_least["ghost_batch"] = 1
        if self.eval_examples is not None:
            at_least["eval_examples"] = 1
        for name, low in at_least.items():
            if not getattr(self, name) >= low:  # also catches NaN
                _refuse(name, f"must be at least {low}", getattr(self, name))
        if not 0.0 <= self.bn_momentum <= 1.0:
            _refuse("bn_momentum", "must be in [0, 1]", self.bn_momentum)
        if not 0.0 <= self.rmsprop_decay < 1.0:
            _refuse("rmsprop_decay", "must be in [0, 1)", self.rmsprop_decay)
        if not self.bn_eps > 0:
            _refuse("bn_eps", "must be positive", self.bn_eps)

    def replace(self, **changes) -> "Protocol":
        """A copy with ``changes`` (None values are ignored: the CLI passes unset options as None)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InvalidArgument(f"unknown protocol fields {sorted(unknown)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


NB101 = Protocol(
    name="nb101", optimizer="rmsprop_tf", lr=0.2, momentum=0.9, weight_decay=1e-4, batch_size=256,
    schedule="cosine_by_step", rmsprop_decay=0.9, rmsprop_eps=1.0, rmsprop_ms_init=1.0,
    bn_momentum=0.003, bn_eps=1e-5, eval_examples=9984, eval_schedule="halfway", stream=True, pad=4, flip=True,
    default_epochs=108)
NB201 = Protocol(
    name="nb201", optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, batch_size=256, nesterov=True,
    schedule="cosine_by_epoch", bn_momentum=0.1, bn_eps=1e-5, eval_schedule="every_epoch", stream=False, pad=4,
    flip=True, default_epochs=200)
NATS_SSS = dataclasses.replace(NB201, name="nats_sss", default_epochs=90)

#: Benchmark space -> its protocol.
PROTOCOLS = {"nb101": NB101, "nb201": NB201, "nats_sss": NATS_SSS}


# ----------------------------------------------------------------------------------------------------------------------
# schedules

def nb101_steps(epochs: int, train_size: int, batch_size: int) -> int:
    """NB-101's total step count ``T = int(E * N / B)`` (16,875 for 108 epochs of 40k at 256)."""
    return int(epochs * train_size / batch_size)


def cosine_by_step(step: int, total_steps: int, base_lr: float) -> float:
    """NB-101's ``COSINE_BY_STEP``: ``0.5 lr (1 + cos(pi t / T))``, and exactly 0 at step 0."""
    if step == 0:
        return 0.0
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * step / total_steps))


def cosine_by_epoch(epoch: int, epochs: int, base_lr: float, eta_min: float = 0.0) -> float:
    """NB-201's cosine, constant within epoch ``epoch`` (0-based): ``eta_min + (lr - eta_min)(1 + cos(pi e/E))/2``."""
    if epoch >= epochs:
        return eta_min
    return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * epoch / epochs)) / 2.0


# ----------------------------------------------------------------------------------------------------------------------
# optimizers

class RMSpropTF(torch.optim.Optimizer):
    """TF1's ``RMSPropOptimizer`` with momentum, exactly::

        g   = grad + weight_decay * w                 # coupled: the l2 term of the loss
        ms  = decay * ms + (1 - decay) * g^2          # ms starts at ms_init (TF1: 1.0)
        mom = momentum * mom + lr * g / sqrt(ms + eps)   # eps inside the sqrt, lr inside the buffer
        w   = w - mom

    ``torch.optim.RMSprop`` differs in all three (ms starts at 0, sqrt(ms) + eps, lr outside the buffer).
    ``foreach=True`` updates all tensors with fused multi-tensor kernels (same arithmetic).
    """

    def __init__(self, params, lr: float = 0.2, decay: float = 0.9, momentum: float = 0.9, eps: float = 1.0,
                 weight_decay: float = 1e-4, ms_init: float = 1.0, foreach: bool = True):
        if lr < 0 or eps < 0 or not 0 <= decay < 1 or momentum < 0 or weight_decay < 0:
            raise InvalidArgument(f"invalid RMSpropTF settings: lr={lr}, decay={decay}, momentum={momentum}, "
                                  f"eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, eps=eps, weight_decay=weight_decay,
                                      ms_init=ms_init, foreach=foreach))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, squares, moms = [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.full_like(p, group["ms_init"], memory_format=torch.preserve_format)
                    state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                params.append(p)
                grads.append(p.grad)
                squares.append(state["square_avg"])
                moms.append(state["momentum_buffer"])
            if not params:
                continue
            lr, decay, momentum = group["lr"], group["decay"], group["momentum"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            if group["foreach"]:
                if weight_decay:
                    grads = torch._foreach_add(grads, params, alpha=weight_decay)
                torch._foreach_mul_(squares, decay)
                torch._foreach_addcmul_(squares, grads, grads, value=1 - decay)
                denominators = torch._foreach_add(squares, eps)
                torch._foreach_sqrt_(denominators)
                torch._foreach_mul_(moms, momentum)
                torch._foreach_addcdiv_(moms, grads, denominators, value=lr)
                torch._foreach_sub_(params, moms)
            else:
                for p, g, ms, mom in zip(params, grads, squares, moms):
                    if weight_decay:
                        g = g.add(p, alpha=weight_decay)
                    ms.mul_(decay).addcmul_(g, g, value=1 - decay)
                    mom.mul_(momentum).addcdiv_(g, ms.add(eps).sqrt_(), value=lr)
                    p.sub_(mom)
        return loss


def make_optimizer(protocol: Protocol, parameters):
    """The protocol's optimizer over ``parameters`` (weight decay on all of them, as both benchmarks did)."""
    if protocol.optimizer == "rmsprop_tf":
        return RMSpropTF(parameters, lr=protocol.lr, decay=protocol.rmsprop_decay, momentum=protocol.momentum,
                         eps=protocol.rmsprop_eps, weight_decay=protocol.weight_decay,
                         ms_init=protocol.rmsprop_ms_init)
    if protocol.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=protocol.lr, momentum=protocol.momentum, nesterov=protocol.nesterov,
                               weight_decay=protocol.weight_decay)
    raise InvalidArgument(f"unknown optimizer {protocol.optimizer!r}: expected 'rmsprop_tf' or 'sgd'")


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
