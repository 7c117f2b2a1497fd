"""What one AlphaZero iteration of the go_9x9 and go_19x19 flagfiles costs on
a TPU v5e-256 pod: gradient all-reduce bytes against self-play compute.

  python results/scripts/scaling_pod_cost.py   # the table in results/scaling/README.md

Run from the repository root (it reads launch/configs/*.flags).

Model (stated, not measured): network FLOPs from XLA's cost analysis of one
forward pass; a Gumbel search of S simulations evaluates the network S + 1
times per move (root + one leaf per simulation); an SGD step costs 3 forward
passes per sample; gradients are float32 and summed with a ring all-reduce,
which moves 2 (N - 1) / N x (gradient bytes) in and out of every chip.
v5e (cloud.google.com/tpu/docs/v5e): 197 TFLOP/s bf16 per chip, all-reduce
bandwidth 51.2 TB/s per 256-chip pod (200 GB/s per chip). Env steps, tree
bookkeeping and input pipelines are not counted: real self-play is slower.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import envs  # noqa: E402
from zerogo import networks  # noqa: E402

CHIPS = 256
PEAK_FLOPS = 197e12          # bf16, per chip
ALLREDUCE_BYTES_PER_S = 51.2e12 / CHIPS
MFU = 0.3                    # a realistic fraction of peak for small convs


def read_flags(path):
  out = {}
  for line in open(path):
    line = line.strip()
    if line.startswith("--"):
      key, _, value = line[2:].partition("=")
      out[key] = value
  return out


def row(name):
  f = read_flags(os.path.join("launch", "configs", f"{name}.flags"))
  env = envs.make(f["env"])
  net = networks.make_network(env.num_actions, num_channels=int(f["num_channels"]),
                              num_blocks=int(f["num_blocks"]))
  params = jax.eval_shape(lambda: networks.init_params(net, env.observation_shape,
                                                       jax.random.PRNGKey(0)))
  num_params = sum(x.size for x in jax.tree.leaves(params))
  obs = jax.ShapeDtypeStruct((1, *env.observation_shape), jnp.float32)
  cost = jax.jit(net.apply).lower(params, obs).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, list) else cost
  forward = float(cost["flops"])
  batch, unroll = int(f["selfplay_batch_size"]), int(f["unroll_length"])
  sims, sgd = int(f["num_simulations"]), int(f["sgd_steps_per_iteration"])
  train_batch = int(f["train_batch_size"])
  selfplay_flops = batch * unroll * (sims + 1) * forward
  learner_flops = 3 * forward * train_batch * sgd
  grad_bytes = 4 * num_params
  wire = 2 * (CHIPS - 1) / CHIPS * grad_bytes * sgd      # per chip per iteration
  compute_s = (selfplay_flops + learner_flops) / CHIPS / (PEAK_FLOPS * MFU)
  comm_s = wire / ALLREDUCE_BYTES_PER_S
  return (f"| {name} | {num_params / 1e6:.2f} M | {forward / 1e6:.1f} M | "
          f"{batch} ({batch / CHIPS:g}/chip) | {selfplay_flops / 1e12:.1f} T | "
          f"{learner_flops / 1e12:.2f} T | {grad_bytes / 1e6:.1f} MB x {sgd} | "
          f"{wire / 1e6:.1f} MB | {compute_s * 1e3:.2f} ms | {comm_s * 1e3:.2f} ms | "
          f"{compute_s / comm_s:.0f} |")


if __name__ == "__main__":
  print("| config | params | forward FLOPs/position | games per iteration | self-play FLOPs/iter "
        "| learner FLOPs/iter | gradient all-reduces/iter | all-reduce bytes per chip/iter "
        f"| compute time/iter at {MFU:.0%} MFU | all-reduce time/iter | compute / all-reduce |")
  print("| --- " * 11 + "|")
  for name in ("go_9x9", "go_19x19"):
    print(row(name))
